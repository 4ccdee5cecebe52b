"""The leaderboard section of the known answers a world measures on each evaluated cell.

A world may offer `measure(w, samples, base_samples) -> dict` (the gauss world returns the
angle between the mean shift at w and its closed-form direction); the dict joins the cell's
record (`bench.execute.evaluate.world_measures`). The leaderboard then gains a section with each method's worst and mean angle per seed.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from bench.report.tables import NA, Section

NOTE = ("Angle in degrees between the mean shift at w and sum_m w_m a_m / |a_m|: "
        "worst / mean over the w grid, per seed.")


def angle_table(records) -> dict[str, dict[int, tuple[float, float]]]:
    """{method: {seed: (max angle, mean angle)}} over the final checkpoint's cells."""
    angles = defaultdict(lambda: defaultdict(list))
    for r in records:
        ka = r.get("known_answer")
        if ka is not None and r.get("checkpoint", 1.0) == 1.0:
            angles[r["method"]][int(r["seed"])].append(ka["angle_deg"])
    return {m: {s: (float(np.max(v)), float(np.mean(v))) for s, v in sorted(seeds.items())}
            for m, seeds in angles.items()}


def known_answer_section(records) -> Section | None:
    """The leaderboard section (None when no record carries a known answer)."""
    table = angle_table(records)
    if not table:
        return None
    seeds = sorted({s for per in table.values() for s in per})
    body = [[(method, False),
             *[(f"{per[s][0]:.1f} / {per[s][1]:.1f}" if s in per else NA, False) for s in seeds],
             (f"{max(v[0] for v in per.values()):.1f}", False)]
            for method, per in table.items()]
    return Section("Known answer", ["Method", *(f"seed {s}" for s in seeds), "Worst"], body,
                   notes=[NOTE])
