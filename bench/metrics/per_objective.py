"""Per-objective controllability over the parts of a composite suite (scaling, ablations).

The leaderboard averages Spearman over objectives; a slider that learned two of three
objectives hides there. These tables give, for each part, method and objective, on the
held-out judges and the final checkpoint, mean over seeds with a 95% bootstrap interval over
seeds (clipped to the metric's range):
- Spearman(w_m, r_m) over the suite's preference grid;
- r_m at the vertex w = e_m (does the pure preference show its own objective?).
Beside them, the leaderboard's held-out HV norm. Written to `<out>/targets.{csv,md}`.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bench.metrics import control as ctl
from bench.metrics.run_arrays import Run, build_runs, names
from bench.metrics.stats import summarise
from bench.store.files import atomic_text


def per_objective(run: Run, space: str = "heldout") -> dict[str, list[float | None]]:
    """Spearman(w_m, r_m) and r_m at w = e_m for each objective m of one run."""
    r = run.means[space]
    vertex = []
    for m in range(run.ws.shape[1]):
        at = np.flatnonzero(np.isclose(run.ws[:, m], 1.0))
        vertex.append(float(r[at[0], m]) if len(at) else None)
    return {"spearman": ctl.spearman(run.ws, r), "vertex": vertex}


def _cell(values: Sequence[float | None], bounds: tuple[float, float]) -> dict[str, float]:
    s = summarise(values, bounds=bounds)
    if s is None:
        return {"mean": np.nan, "lo": np.nan, "hi": np.nan, "n": 0}
    return {"mean": s.mean, "lo": np.nan if s.ci_low is None else s.ci_low,
            "hi": np.nan if s.ci_high is None else s.ci_high, "n": s.n}


def part_table(part: str, records: Sequence[dict], board: pd.DataFrame | None) -> pd.DataFrame:
    """One row per (method, objective) of a part: Spearman and vertex score over seeds."""
    runs, _ = build_runs(records, None)
    rows = []
    for method in dict.fromkeys(r.method for r in runs):
        mine = [r for r in runs if r.method == method and r.w_dependent]
        if not mine:
            continue
        found = [per_objective(r) for r in mine]
        hv = None
        if board is not None and "heldout_hv_norm" in board and method in set(board["method"]):
            hv = board.set_index("method").loc[method, "heldout_hv_norm"]
        for m, objective in enumerate(names(mine[0].records[0], "heldout")):
            rho = _cell([f["spearman"][m] for f in found], (-1.0, 1.0))
            top = _cell([f["vertex"][m] for f in found], (0.0, 1.0))
            rows.append({"part": part, "M": mine[0].ws.shape[1], "method": method,
                         "objective": objective, "seeds": rho["n"],
                         "spearman": rho["mean"], "spearman_lo": rho["lo"],
                         "spearman_hi": rho["hi"], "vertex": top["mean"],
                         "vertex_lo": top["lo"], "vertex_hi": top["hi"],
                         "heldout_hv_norm": hv})
    return pd.DataFrame(rows)


def _fmt(mean, lo, hi) -> str:
    if mean is None or not np.isfinite(mean):
        return "n/a"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{mean:.3f}"
    return f"{mean:.3f} [{lo:.3f}, {hi:.3f}]"


def targets_markdown(table: pd.DataFrame) -> str:
    """The table as Markdown, one block per part."""
    out = ["# Per-objective controllability (held-out judges, final checkpoint)", "",
           ("Mean over seeds [95% bootstrap interval over seeds]. Spearman(w_m, r_m) over the "
            "preference grid; Vertex: r_m at w = e_m (normalised). HV norm: the leaderboard's "
            "held-out HV norm of the method."), ""]
    for part, rows in table.groupby("part", sort=False):
        out += [f"## {part} (M = {rows['M'].iloc[0]}, {int(rows['seeds'].max())} seeds)", "",
                "| Method | Objective | Spearman | Vertex | HV norm |", "|---|---|---|---|---|"]
        for _, r in rows.iterrows():
            hv = r["heldout_hv_norm"]
            out.append(f"| {r['method']} | {r['objective']} | "
                       f"{_fmt(r['spearman'], r['spearman_lo'], r['spearman_hi'])} | "
                       f"{_fmt(r['vertex'], r['vertex_lo'], r['vertex_hi'])} | "
                       f"{'n/a' if hv is None or pd.isna(hv) else f'{float(hv):.3f}'} |")
        out.append("")
    return "\n".join(out)


def write_targets(parts: dict[str, tuple[Sequence[dict], pd.DataFrame | None]],
                  out_dir: str | Path) -> Path:
    """targets.csv and targets.md in `out_dir` from {part: (records, leaderboard)}."""
    table = pd.concat([part_table(p, recs, board) for p, (recs, board) in parts.items()],
                      ignore_index=True)
    out = Path(out_dir)
    atomic_text(out / "targets.csv", table.to_csv(index=False))
    atomic_text(out / "targets.md", targets_markdown(table))
    return out / "targets.md"
