"""The frontier suite's report, from its parts' records alone.

    python -m bench.report suite=two_obj_frontier [results_dir=results]

writes, under the suite's root: frontier.csv (one row per method and setting), budget.csv
(HV at an adherence budget, with the paired comparisons), frontier.md (both tables and the
protocol), chosen.yaml (each method's pick at the headline budget, as `method_options`) and
figures/frontier.png (HV matched against the worst-w adherence drop and against drift).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from bench.metrics.resample import BELOW_BASE_MARGIN
from bench.metrics.stats import percentile_interval, seed_draws, t_upper_bound
from bench.report.frontier.choice import ALPHA, DELTAS, budget_table
from bench.report.frontier.figure import frontier_plot
from bench.report.frontier.points import REFERENCE, Point, by_method, collect, part_dirs
from bench.report.tables import fmt
from bench.store.files import atomic_text
from bench.store.suite_dir import SuiteDir

HEADLINE_DELTA = BELOW_BASE_MARGIN  # the budget two_obj's settings are picked at
NA = "n/a"


def primary_scorer(root: Path) -> str:
    """The suite's `adherence` scorer (the budget is stated in it), from a part's suite.yaml."""
    for part in part_dirs(root):
        path = SuiteDir(part).suite_file
        if path.is_file():
            found = (yaml.safe_load(path.read_text()) or {}).get("adherence")
            if found:
                return found
    raise FileNotFoundError(f"no part of {root} names its adherence scorer in suite.yaml")


def frontier_table(points: Sequence[Point]) -> pd.DataFrame:
    """One row per method and setting: HV matched (mean, 95% interval over seeds and images),
    worst-w adherence drop per scorer (mean, one-sided 95% upper bound), drift, seeds."""
    rows = []
    for method, pts in by_method(points).items():
        for p in pts:
            est = float(np.mean(p.hv))
            interval = percentile_interval(
                seed_draws(p.hv_reps, np.random.default_rng(0)), (0.0, 1.0), estimate=est)
            row = {"method": method, "setting": p.label, "extrapolated": p.extrapolated,
                   "part": p.part, "seeds": len(p.seeds), "hv": est,
                   "hv_low": None if interval is None else interval[0],
                   "hv_high": None if interval is None else interval[1]}
            for scorer, drop in p.drop.items():
                row[f"drop:{scorer}"] = float(np.mean(drop))
                row[f"drop_ub:{scorer}"] = float(t_upper_bound(drop))
            for scorer, drop in (p.vertex_drop or {}).items():
                row[f"vertex_drop:{scorer}"] = float(np.nanmean(drop))
            row["drift"] = float(np.mean(p.drift))
            rows.append(row)
    return pd.DataFrame(rows)


def _interval_text(row: Mapping, col: str, digits: int = 3) -> str:
    value = row.get(col)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return NA
    lo, hi = row.get(f"{col}_low"), row.get(f"{col}_high")
    spread = "" if lo is None or pd.isna(lo) else f" [{lo:.{digits}f}, {hi:.{digits}f}]"
    return f"{value:.{digits}f}{spread}"


def frontier_markdown(table: pd.DataFrame, scorers: Sequence[str]) -> list[str]:
    head = ["Method", "Setting", "Seeds", "HV matched", *(f"worst-w drop {s} (mean / UB)"
                                                        for s in scorers),
            *(f"vertex drop {s}" for s in scorers), "Drift"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        setting = r["setting"] + (" (extrapolated)" if r["extrapolated"] else "")
        drops = [f"{r[f'drop:{s}']:+.3f} / {r[f'drop_ub:{s}']:+.3f}" for s in scorers]
        vertex = [NA if pd.isna(r.get(f"vertex_drop:{s}", np.nan))
                  else f"{r[f'vertex_drop:{s}']:+.3f}" for s in scorers]
        lines.append("| " + " | ".join([r["method"], setting, str(r["seeds"]),
                                        _interval_text(r, "hv"), *drops, *vertex,
                                        f"{r['drift']:.3f}"]) + " |")
    return lines


def budget_markdown(table: pd.DataFrame) -> list[str]:
    head = ["delta", "Method", "Pick", "HV at budget", "picked in", "vs slider", "P(> slider)",
            "p (Holm)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        hv = _interval_text(r, "hv")
        picked = not pd.isna(r["setting"])
        pick = r["setting"] + (" (extrapolated)" if r["extrapolated"] else "") if picked else NA
        shares = (f"{r['pick_share']:.0%} (any: {r['admissible_share']:.0%})"
                  if r["pick_share"] is not None and not pd.isna(r["pick_share"])
                  else f"any: {r['admissible_share']:.0%}")
        vs = NA if pd.isna(r.get("diff", np.nan)) else _signed(r)
        pi = NA if pd.isna(r.get("pi", np.nan)) else (
            f"{r['pi']:.2f} [{fmt(r['pi_low'])}, {fmt(r['pi_high'])}]")
        p = NA if pd.isna(r.get("p_holm", np.nan)) else f"{r['p_holm']:.3f} ({r['p']:.3f})"
        lines.append("| " + " | ".join([f"{r['delta']:.2f}", r["method"], pick,
                                        f"**{hv}**" if r["tied_best"] and picked else hv,
                                        shares, vs, pi, p]) + " |")
    return lines


def _signed(r: Mapping) -> str:
    return f"{r['diff']:+.3f} [{r['diff_low']:+.3f}, {r['diff_high']:+.3f}]"


def chosen_options(budget: pd.DataFrame, table: pd.DataFrame, points: Sequence[Point],
                   delta: float, scorer: str) -> tuple[dict, list[str]]:
    """Each method's pick at `delta` as its method_options entry (`Method.options_for`: a
    merge's scale as lambda, the knobs of runs it shares under runs); a method with no setting
    within the budget gets its most adherent one (the smallest upper bound of the worst-w
    drop), named in the second list."""
    import baselines  # noqa: F401  (registers the baseline methods)
    from paretoslider.methods import METHODS

    settings = {(p.method, p.label): p.setting for p in points}
    picked = budget[budget["delta"] == delta].set_index("method")["setting"]
    out, fallback = {}, []
    for method, group in table.groupby("method", sort=False):
        label = picked.get(method)
        if label is None or pd.isna(label):
            label = group.loc[group[f"drop_ub:{scorer}"].idxmin(), "setting"]
            fallback.append(method)
        out[method] = METHODS.get(method)().options_for(dict(settings[(method, label)]))
    return out, fallback


def build_frontier_report(root: str | Path, resamples: int = 1000) -> list[Path]:
    """Write the frontier suite's tables, picks and figure; returns the paths written."""
    root = Path(root)
    points = collect(root, resamples=resamples)
    if not points:
        raise FileNotFoundError(f"no records under {root}: run `python -m bench.run` first")
    scorer = primary_scorer(root)
    scorers = sorted(points[0].drop)
    table = frontier_table(points)
    budget = budget_table(by_method(points), scorer)
    written = [root / "frontier.csv", root / "budget.csv", root / "frontier.md",
               root / "chosen.yaml"]
    atomic_text(written[0], table.to_csv(index=False))
    atomic_text(written[1], budget.to_csv(index=False))
    atomic_text(written[2], "\n".join(_markdown(table, budget, scorer, scorers, points)) + "\n")
    chosen, fallback = chosen_options(budget, table, points, HEADLINE_DELTA, scorer)
    note = (f"; none within it, so the most adherent setting: {', '.join(fallback)}"
            if fallback else "")
    atomic_text(written[3], f"# picks at adherence budget {HEADLINE_DELTA} ({scorer}){note}; "
                f"by `python -m bench.report suite={root.name}`\n"
                + yaml.safe_dump({"seeds": sorted({s for p in points for s in p.seeds}),
                                  "method_options": chosen}, sort_keys=False))
    written.append(frontier_plot(table, scorer, root / "figures" / "frontier.png"))
    return written


def _markdown(table, budget, scorer, scorers, points) -> list[str]:
    seeds = sorted({s for p in points for s in p.seeds})
    return [
        (f"# Frontier: {len({p.method for p in points})} methods, {len(table)} settings, "
        f"seeds {', '.join(map(str, seeds))}"),
        "",
        ("Protocol: every method at several values of its knob (lambda_ref of the NFT runs, "
        "KL beta of GRPO, a merge's scale on the same runs); held-out HV matched (k = 5) at "
        "the final checkpoint; worst-w drop = the base model's adherence on the same prompts "
        "and noise minus the method's adherence at its worst w, per seed; vertex drop: the "
        "same at the one-hot w, mean over them and seeds; UB = one-sided 95% "
        "upper bound of its mean over seeds (t). HV intervals: 95% bootstrap over seeds and "
        "images with common random numbers (the same image rows for every method of a "
        "seed), clipped to [0, 1]. A merge scale above 1 extrapolates past its ingredients."),
        "",
        *frontier_markdown(table, scorers),
        "",
        f"## HV at an adherence budget ({scorer})",
        "",
        (f"For each delta, each method's best mean HV matched among its settings whose UB of "
        f"worst-w drop is at most delta. The pick is redone in each of the bootstrap "
        f"resamples (the interval includes the choice); 'picked in' is the share of "
        f"resamples that pick the same setting (any: that admit one). vs slider: paired "
        f"difference in the same resamples; P(> slider) over seed pairs (rliable); p: "
        f"paired t-test over seeds, Holm-corrected over the comparisons of one delta (raw "
        f"in brackets). Bold: not separable from the best by the Holm-corrected paired test "
        f"(alpha {ALPHA})."),
        "",
        *budget_markdown(budget),
        "",
        (f"The headline (`two_obj`) runs each method at its pick for delta = {HEADLINE_DELTA} "
         "(a method with no setting within it: its most adherent one): chosen.yaml."),
    ]


__all__ = ["DELTAS", "REFERENCE", "build_frontier_report"]
