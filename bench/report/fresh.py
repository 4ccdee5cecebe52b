"""Fresh seeds: a headline whose settings were chosen on some of its seeds (the suite's
`chosen_on_seeds`, written by `bench.tune`), reported on the other seeds alone beside all of
them, so that any selection bias is visible.

The fresh seeds' metrics and the paired comparisons against the slider are recomputed from
their records only (their own bootstrap, common random numbers, Holm over the comparisons),
at the matched cardinality of the full table.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from bench.metrics.paired import REFERENCE, comparisons
from bench.report.aggregate import ORACLE, analyse, leaderboard
from bench.report.tables import NA, Section, cell_text, fmt

COLUMNS = (("heldout_hv_matched", "HV matched"), ("adherence_worst:adherence_heldout",
                                                  "Worst-w adherence"), ("drift", "Drift"))


def fresh_seeds(records: Sequence[Mapping[str, Any]], chosen_on: Sequence[int] | None
                ) -> list[int]:
    """The records' seeds that the settings were not chosen on ([] without a choice)."""
    if not chosen_on:
        return []
    return sorted({int(r["seed"]) for r in records} - {int(s) for s in chosen_on})


def protocol_line(records: Sequence[Mapping[str, Any]], chosen_on: Sequence[int] | None
                  ) -> str | None:
    """The header's statement of how the settings were chosen, where the suite says."""
    if not chosen_on:
        return None
    fresh = fresh_seeds(records, chosen_on)
    seeds = {int(r["seed"]) for r in records}
    where = ("every seed here is fresh" if fresh and set(fresh) == seeds
             else f"seeds {', '.join(map(str, fresh))} are fresh (table 'Fresh seeds')" if fresh
             else "no seed here is fresh")
    return (f"Protocol: each method at the setting its frontier picked (`bench.tune`), chosen "
            f"on seeds {', '.join(map(str, chosen_on))}; {where}.")


def fresh_section(records: Sequence[dict], suite_dir: str | Path, board: pd.DataFrame,
                  chosen_on: Sequence[int] | None, k: int | None) -> Section | None:
    """Each method's metrics on the fresh seeds beside all seeds, with its paired HV
    difference to the slider on the fresh seeds (Holm-corrected p); None unless some seeds
    are fresh and some are not."""
    fresh = fresh_seeds(records, chosen_on)
    if not fresh or set(fresh) == {int(r["seed"]) for r in records}:
        return None  # none fresh, or all: the tables above are the fresh seeds' already
    subset = [r for r in records if int(r["seed"]) in fresh and r["method"] != ORACLE]
    found = analyse(subset, suite_dir, k=k)
    fresh_board = leaderboard(found.per_run, found.replicates, found.ref)
    comp = comparisons(found.per_run, found.replicates, cols=("heldout_hv_matched",))
    diffs = comp.set_index("method") if not comp.empty else pd.DataFrame()
    everything = board.set_index("method")
    header = ["Method"]
    for _, label in COLUMNS:
        header += [f"{label} (fresh)", f"{label} (all)"]
    header += ["HV matched vs slider (fresh)", "p (Holm)"]
    body = []
    for _, row in fresh_board.iterrows():
        method = row["method"]
        cells = [(str(method), False)]
        for col, _ in COLUMNS:
            cells.append((cell_text(row, col, spread=False), bool(row.get(f"{col}_best", False))))
            full = everything.loc[method] if method in everything.index else {}
            cells.append((cell_text(full, col, spread=False) if len(full) else NA, False))
        if method in diffs.index:
            d = diffs.loc[method]
            diff = (f"{fmt(d['heldout_hv_matched_diff'])} "
                    f"[{fmt(d['heldout_hv_matched_diff_ci_low'])}, "
                    f"{fmt(d['heldout_hv_matched_diff_ci_high'])}]")
            cells.append((diff, False))
            cells.append((fmt(d.get("heldout_hv_matched_p_holm")), False))
        else:
            cells += [(NA if method != REFERENCE else "-", False), (NA, False)]
        body.append(cells)
    above = [(f"Seeds {', '.join(map(str, fresh))} alone (the settings were chosen on "
              f"{', '.join(map(str, chosen_on))}), beside all seeds of the table above. "
              "Intervals: 95% bootstrap on the fresh seeds; bold: not separable from the best "
              "on them; vs slider: paired on the fresh seeds, p from the paired t-test, "
              "Holm-corrected over the methods.")]
    return Section("Fresh seeds", header, body, above=above)
