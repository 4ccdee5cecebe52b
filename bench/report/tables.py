"""Leaderboard tables: CSV (every column), Markdown and LaTeX (readable sections).

A metric cell reads "mean [95% interval]" over distinct seeds (plus "(min-max)" in the
full tables); with one seed and no per-image data just the mean. Bold marks every method
that cannot be told apart from the best mean (`<col>_best` of the leaderboard); a metric
that is undefined for a method reads "n/a". The headline table comes first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bench.metrics import point as _builtin  # noqa: F401  (registers the metrics)
from bench.metrics.control import MONOTONE_TOL, SHOWS_THRESHOLD
from bench.metrics.registry import counts, label, table_columns
from bench.metrics.resample import BELOW_BASE_MARGIN
from bench.metrics.stats import LEVEL, RESAMPLES
from bench.store.files import atomic_save, atomic_text

NA = "n/a"
MAIN_METRIC = "heldout_hv_matched"
# the headline's choice of columns; headers, like every table's columns, come from the
# metric registry (read when a table is made, so metrics registered later are included)
HEADLINE = ("heldout_hv_matched", "heldout_hv", "heldout_regret_mean", "heldout_regret_worst",
            "heldout_spearman", "heldout_blend", "heldout_neither", "control", "adherence",
            "passes")
IDENTICAL = "‡"
# a cost the harness did not measure (a model trained elsewhere): marked in every table
DECLARED = "declared"
DECLARABLE = {"passes", "train_images", "forward_passes", "backward_passes", "optimizer_steps",
              "wall_s"}


@dataclass
class Section:
    """One table: title, lines above it, header, body cells (text, bold) and notes below."""

    title: str
    header: list[str]
    body: list[list[tuple[str, bool]]]
    above: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _missing(value: object) -> bool:
    """True for None and NaN: the metric is n/a."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt(value: object, count: bool = False) -> str:
    """A number for a table: 3 decimals; whole numbers with thousands separators for counts
    and for anything of 1000 or more."""
    if _missing(value):
        return NA
    v = float(value)
    return f"{v:,.0f}" if count or abs(v) >= 1000 else f"{v:.3f}"


def cell_text(row: Mapping[str, Any], col: str, dash: str = "-", spread: bool = True) -> str:
    """'mean [ci_low, ci_high] (min-max)'. A zero-width interval is printed as it is (it
    says the data show no spread); counts show no interval; min-max only when it differs."""
    mean = row.get(col)
    if _missing(mean):
        return NA
    if isinstance(mean, str):
        return mean
    count = col in counts()
    text = fmt(mean, count and float(mean).is_integer())
    low, high = row.get(f"{col}_ci_low"), row.get(f"{col}_ci_high")
    if not count and not _missing(low) and not _missing(high):
        text += f" [{fmt(low)}, {fmt(high)}]"
    lo, hi = row.get(f"{col}_min"), row.get(f"{col}_max")
    if spread and not _missing(lo) and not _missing(hi) and fmt(lo) != fmt(hi):
        text += f" ({fmt(lo, count)}{dash}{fmt(hi, count)})"
    return text


def method_label(row: Mapping[str, Any]) -> str:
    """Method name, marked when some of its seeds were identical and counted once."""
    n, distinct = row.get("n_seeds"), row.get("n_distinct_seeds")
    same = not _missing(n) and not _missing(distinct) and distinct < n
    return f"{row['method']} {IDENTICAL}" if same else str(row["method"])


def metric_section(board: pd.DataFrame, title: str, cols: Sequence[tuple[str, str]],
                   spread: bool = True, dash: str = "-") -> Section:
    """A table of leaderboard metrics, one row per method."""
    body = []
    for _, row in board.iterrows():
        cells = [(method_label(row), False)]
        for col, _ in cols:
            text = cell_text(row, col, dash, spread)
            if col in DECLARABLE and text != NA and bool(row.get("cost_declared", False)):
                text += f" ({DECLARED})"
            cells.append((text, bool(row.get(f"{col}_best", False)) and text != NA))
        body.append(cells)
    return Section(title, ["Method"] + [h for _, h in cols], body)


def headline_notes(board: pd.DataFrame, info: Mapping[str, Any]) -> list[str]:
    """The lines under the headline table: statistics, shares, control, regret, HV norm."""
    k = info.get("k")
    notes = [
        (f"Mean over distinct seeds [{LEVEL:.0%} interval: percentile bootstrap over seeds and "
        f"images together, {RESAMPLES} resamples, re-centred on the mean, clipped to the "
        "metric's possible range]. "
        "Bold: every method whose interval of the difference to the best mean contains 0 "
        "(it cannot be told apart from the best)."),
        (f"HV matched: held-out HV on k = {k if k is not None else NA} distinct points per "
        "method (the fixed-weight grid size): all points of a method with at most k, else the "
        "k chosen on TRAINING rewards by greedy HV gain (a point that adds no training volume "
        "is not taken), then scored on the held-out judges."),
        (f"Blend / Neither: share of images at interior w (more than one w_m > 0) whose held-out "
        f"score, normalised, reaches {SHOWS_THRESHOLD} on every / on no asked-for objective; "
        f"n per w = {info.get('samples', NA)} images per seed (per-w shares: table 'Blend by w')."),
        ("Control: 'switch-like' where the per-w mean moves with w although images at interior "
        "w mostly show one style only (a mixture of single-style images, not blends); "
        "'blends' otherwise; 'static' for one model at every w."),
        f"Regret: oracle's w.r minus the method's at each evaluation w (held-out, normalised); "
        f"mean and worst over w. {info.get('oracle_note', '')}".strip(),
    ]
    declared = board.loc[board["cost_declared"], "method"] if "cost_declared" in board else []
    if len(declared):
        notes.append(f"({DECLARED}): {', '.join(map(str, declared))} trained elsewhere; its "
                     "cost is what its authors declare, not measured by this harness.")
    same = [str(m) for m, n, d in zip(board["method"], board["n_seeds"],
                                      board["n_distinct_seeds"], strict=True) if d < n]
    if same:
        notes.append(f"{IDENTICAL} {', '.join(same)}: seeds gave identical numbers (no "
                     "training, shared evaluation noise) and count as one seed; any "
                     "interval comes from its images alone.")
    return notes


# short names of the shapes world's adherence scorers in table headers (others: their name)
SCORER_LABELS = {"adherence_heldout": "classifier", "adherence_shape": "silhouette"}


def adherence_scorers(board: pd.DataFrame) -> list[str]:
    """The adherence scorers the leaderboard has per-scorer columns for (`adherence:<name>`)."""
    return [c.partition(":")[2] for c in board.columns
            if c.startswith("adherence:") and f"{c}_ci_low" in board.columns]


def headline_columns(board: pd.DataFrame) -> list[tuple[str, str]]:
    """HEADLINE with, after mean adherence, each adherence scorer's worst w and share of w
    below the base model."""
    extra = [(f"{col}:{name}", f"{label(f'{col}:{name}')} ({SCORER_LABELS.get(name, name)})")
             for name in adherence_scorers(board) for col in ("adherence_worst", "below_base")]
    head = [(c, "Control" if c == "control" else label(c)) for c in HEADLINE]
    at = HEADLINE.index("adherence") + 1
    return [*head[:at], *extra, *head[at:]]


def adherence_section(board: pd.DataFrame) -> Section | None:
    """Every adherence scorer's mean, worst w, share of w below the base model and the base's
    own adherence; None without per-scorer columns."""
    names = adherence_scorers(board)
    if not names:
        return None
    cols = [(f"{col}:{name}", f"{header} ({SCORER_LABELS.get(name, name)})")
            for name in names for col, header in table_columns(("scorer",))]
    sec = metric_section(board, "Prompt adherence (held-out scorers)", cols, spread=False)
    labels = "; ".join(f"{SCORER_LABELS.get(n, n)} = {n}" for n in names)
    sec.notes = [
        (f"Scorers: {labels} (classifier: the held-out shape classifier; silhouette: the "
         "prompted shape's silhouette fitted to the image, no network). Mean: over w; Worst w: "
         "the lowest per-w mean (the method's worst preference); Below base: share of w whose "
         f"mean is more than {BELOW_BASE_MARGIN} below the base model's on the same prompts "
         "and noise, seed by seed; Base: the base model's adherence."),
        ("Intervals: bootstrap over seeds and images, the base's images redrawn with the same "
         "rows as each cell's; seeds only where a run's per-image file lacks the scores.")]
    return sec


def headline_section(board: pd.DataFrame, info: Mapping[str, Any]) -> Section:
    """The first table: held-out judges, main metric first, settings and counts above it."""
    sec = metric_section(board, "Headline: held-out judges", headline_columns(board),
                         spread=False)
    sec.above = [f"Main metric: held-out HV at matched cardinality (HV matched). "
                 f"{info.get('settings', '')}".strip()]
    sec.notes = headline_notes(board, info)
    if adherence_scorers(board):
        sec.notes.append(f"Worst w: adherence at the method's worst preference; Below base: "
                         f"share of w more than {BELOW_BASE_MARGIN} below the base model's "
                         "adherence (table 'Prompt adherence').")
    return sec


def comparison_section(comp: pd.DataFrame, cols: Sequence[tuple[str, str]]) -> Section | None:
    """Differences to the reference method with interval and probability of improvement."""
    if comp.empty:
        return None
    ref = comp["reference"].iloc[0]
    body = []
    for _, row in comp.iterrows():
        cells = [(str(row["method"]), False)]
        for col, _ in cols:
            d = row.get(f"{col}_diff")
            text = NA if _missing(d) else (
                f"{float(d):+.3f} [{fmt(row[f'{col}_diff_ci_low'])}, "
                f"{fmt(row[f'{col}_diff_ci_high'])}] P={fmt(row[f'{col}_p_better'])}"
                f"{_pi_interval(row, col)} p={fmt(row.get(f'{col}_p_holm'))}")
            cells.append((text, False))
        body.append(cells)
    return Section(f"Paired comparisons against {ref} (held-out)",
                   ["Method"] + [h for _, h in cols], body, notes=[
                       (f"method - {ref}, mean over seeds [{LEVEL:.0%} bootstrap interval, "
                       "paired on common seeds, over images too where side files exist]; "
                       f"P = probability of improvement P(method better than {ref}) over all "
                       "pairs of their seeds (rliable; ties 1/2; for regret, lower is better), "
                       "with its stratified-bootstrap interval; p = paired t-test over common "
                       "seeds, Holm-corrected over the methods compared on that metric.")])


def _pi_interval(row: Mapping[str, Any], col: str) -> str:
    lo, hi = row.get(f"{col}_p_better_ci_low"), row.get(f"{col}_p_better_ci_high")
    return "" if _missing(lo) else f" [{fmt(lo)}, {fmt(hi)}]"


def blend_section(cells: pd.DataFrame) -> Section | None:
    """Held-out blend / neither shares at every interior w, mean over distinct seeds."""
    if cells.empty:
        return None
    ws = sorted(set(cells["w"]))
    two = all(len(w) == 2 for w in ws)
    label = [f"w0={w[0]:.2g}" if two else "(" + ",".join(f"{x:.2g}" for x in w) + ")"
             for w in ws]
    body = []
    for method, group in cells.groupby("method", sort=False):
        row = [(str(method), False)]
        for w in ws:
            g = group[group["w"] == w]
            row.append((NA if g.empty else f"{g['heldout_blend'].mean():.2f} / "
                        f"{g['heldout_neither'].mean():.2f} (n={int(g['n'].sum())})", False))
        body.append(row)
    return Section("Blend by w (held-out)", ["Method", *label], body, notes=[
        (f"Each cell: share of images showing every asked-for objective / none of them "
        f"(normalised held-out score >= {SHOWS_THRESHOLD}), mean over distinct seeds; "
        "n = images behind the cell (images per seed x seeds).")])


def budget_sections(table: pd.DataFrame, areas: pd.DataFrame, static: Sequence[str]
                    ) -> list[Section]:
    """Curves over budget (held-out) and the static methods' checkpoints side table."""
    if table.empty:
        return []
    cols = [("heldout_hv", "HV"), ("heldout_hv_matched", "HV matched"),
            ("heldout_regret_mean", "Regret mean")]
    body = []
    auc = areas.set_index("method") if not areas.empty else pd.DataFrame()
    for _, row in table.iterrows():
        cells = [(f"{row['method']}@{row['checkpoint']:.2g}", False),
                 (f"{fmt(row['passes'], True)}", False)]
        cells += [(cell_text(row, c), False) for c, _ in cols]
        area = auc.loc[row["method"]] if row["method"] in auc.index else {}
        cells.append((fmt(area.get("auc_heldout_hv")) if row["checkpoint"] >= 1 else "", False))
        body.append(cells)
    secs = [Section("Curves over budget (held-out)", ["Method@fraction", "Passes",
                                                        *[h for _, h in cols], "AUC HV"], body,
                    notes=[("Passes: actual denoiser passes at the checkpoint (mean over "
                           "seeds); (min-max) over seeds. AUC HV: trapezoid area under HV "
                           "vs passes over the checkpoints, divided by the budget B = "
                           f"{fmt(areas['budget'].max(), True) if not areas.empty else NA} "
                           "passes (no point at 0 passes).")])]
    side = table[table["method"].isin(static)]
    if not side.empty:
        rows = [[(f"{r['method']}@{r['checkpoint']:.2g}", False),
                 (fmt(r["passes"], True), False), (cell_text(r, "heldout_hv"), False)]
                for _, r in side.iterrows()]
        secs.append(Section("Static methods' checkpoints (held-out)",
                            ["Method@fraction", "Passes", "HV"], rows))
    return secs


def to_markdown(sections: Sequence[Section], title: str = "Leaderboard") -> str:
    """Sections as Markdown tables."""
    lines = [f"# {title}", ""]
    for sec in sections:
        lines += [f"## {sec.title}", ""] + [*sec.above, ""] * bool(sec.above)
        lines += ["| " + " | ".join(sec.header) + " |", "|" + "---|" * len(sec.header)]
        lines += ["| " + " | ".join(f"**{t}**" if b else t for t, b in r) + " |"
                  for r in sec.body]
        lines += [""] + [f"- {n}" for n in sec.notes] + [""] * bool(sec.notes)
    return "\n".join(lines)


def _tex_escape(text: str) -> str:
    """Escape the LaTeX specials that method names and numbers can contain."""
    for char in ("\\", "&", "%", "$", "#", "_", "{", "}"):
        text = text.replace(char, "\\" + char)
    return text.replace(IDENTICAL, "$^\\ddagger$")


def to_latex(sections: Sequence[Section]) -> str:
    """Sections as booktabs LaTeX tables, notes as comments."""
    parts = []
    for sec in sections:
        parts += [f"% {sec.title}", *[f"% {_tex_escape(a)}" for a in sec.above],
                  "\\begin{tabular}{l" + "r" * (len(sec.header) - 1) + "}", "\\toprule",
                  " & ".join(_tex_escape(h) for h in sec.header) + " \\\\", "\\midrule"]
        parts += [" & ".join(f"\\textbf{{{_tex_escape(t)}}}" if b else _tex_escape(t)
                             for t, b in r) + " \\\\" for r in sec.body]
        parts += ["\\bottomrule", "\\end{tabular}", *[f"% {_tex_escape(n)}" for n in sec.notes],
                  ""]
    return "\n".join(parts)


def sections(board: pd.DataFrame, info: Mapping[str, Any] | None = None,
             extra: Sequence[Section | None] = ()) -> list[Section]:
    """Headline first, then the extra sections (comparisons, blend by w, budget), then the
    full tables of both spaces and quality and cost."""
    info = info or {}
    front = table_columns(("sweep", "point"))
    held = [(f"heldout_{c}", h) for c, h in front]
    notes = [(f"Monotonicity: share of neighbouring-w checks where the asked-for reward rises "
             f"and the other falls by more than {MONOTONE_TOL} (flat steps count as wrong). "
             "Jump/range: largest change between neighbouring w divided by the sweep's range, "
             "max over objectives (1 = a switch in one step). HV norm: HV of the points "
             "clipped to the suite's ideal box [ref, hi] divided by its volume prod_m(hi_m - "
             "ref_m), in [0, 1]; hi from `python -m bench.calibrate` (1 without one).")]
    full = [metric_section(board, "Held-out judges (all metrics)", held),
            metric_section(board, "Training rewards (all metrics)", front),
            metric_section(board, "Quality and cost", table_columns(("run",)))]
    full[0].notes = notes
    return [headline_section(board, info),
            *[s for s in (adherence_section(board), *extra) if s is not None], *full]


def write_tables(board: pd.DataFrame, out_dir: str | Path, title: str = "Leaderboard",
                 info: Mapping[str, Any] | None = None, extra: Sequence[Section | None] = ()
                 ) -> list[Path]:
    """Write leaderboard.csv, .md and .tex into `out_dir`; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "leaderboard.csv", out / "leaderboard.md", out / "leaderboard.tex"]
    secs = sections(board, info, extra)
    atomic_save(paths[0], lambda tmp: board.to_csv(tmp, index=False, na_rep=NA))
    atomic_text(paths[1], to_markdown(secs, title))
    atomic_text(paths[2], to_latex(secs))
    return paths
