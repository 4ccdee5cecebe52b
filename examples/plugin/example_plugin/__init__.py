"""Example plug-in for ParetoSlider-Bench, found through its entry points once installed.

- `reward_weighted_fm` (method.py): supervised flow matching on the policy's own samples,
  weighted by their positive advantage: a loss the built-in trainer does not have.
- `symmetry` (reward.py): how mirror-symmetric an image is, left to right.
- `shapes_gray` (world.py): the shapes world with every image seen in grayscale.
"""
