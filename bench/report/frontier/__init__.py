"""Methods compared by their frontiers over the knob that keeps each near the base model.

`points` gathers one `Point` per (method, setting) from a frontier suite's parts, with
per-seed values and image-bootstrap replicates (common random numbers); `choice` picks each
method's best setting within an adherence budget, redoing the pick inside every bootstrap
resample, and compares the picks with the slider's; `report` writes frontier.csv,
frontier.md, chosen.yaml and figures/frontier.png.
"""
