"""Entry points: each `python -m bench.<name>` (and `paretoslider-bench <name>`) is a module here."""
