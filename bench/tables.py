"""Leaderboard tables: CSV (every column), Markdown and LaTeX (a readable selection).

A cell reads "mean [95% interval] (min-max)" over seeds; with one seed just the mean. The
best mean of each column is bold; a metric that is undefined for a method reads "n/a".
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

# (column, header, larger is better)
FRONT_VIEW = [("hv", "HV", True), ("hv_norm", "HV norm", True), ("eum", "EUM", True),
              ("cu", "CU", True), ("cu_gap", "EUM-CU", False), ("igd_plus", "IGD+", False),
              ("spearman", "Spearman", True), ("monotonicity", "Monotonicity", True),
              ("range", "Range", True), ("largest_jump", "Largest jump", False),
              ("blend", "Blend", True)]
QUALITY_COST_VIEW = [("adherence", "Adherence", True), ("diversity", "Diversity", True),
                     ("drift", "Drift", False), ("train_images", "Images", False),
                     ("forward_passes", "Fwd passes", False),
                     ("backward_passes", "Bwd passes", False), ("wall_s", "Wall s", False),
                     ("models_trained", "Models", False), ("checkpoints", "Checkpoints", False),
                     ("checkpoint_bytes", "Ckpt bytes", False),
                     ("slider_change_cost", "Slider change cost", False)]
NA = "n/a"
COUNTS = {"cardinality", "train_images", "forward_passes", "backward_passes",
          "optimizer_steps", "models_trained", "checkpoints", "checkpoint_bytes"}


def sections() -> list[tuple[str, list[tuple[str, str, bool]]]]:
    """The tables shown in Markdown and LaTeX: title and columns."""
    heldout = [(f"heldout_{c}", h, b) for c, h, b in FRONT_VIEW]
    return [("Training rewards", FRONT_VIEW), ("Held-out judges", heldout),
            ("Quality and cost", QUALITY_COST_VIEW)]


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


def cell_text(row: pd.Series, col: str, dash: str = "-") -> str:
    """'mean [ci_low, ci_high] (min-max)'; the mean alone when all seeds agree (or one)."""
    mean = row.get(col)
    if _missing(mean):
        return NA
    # Means of counts over seeds can be fractional: keep decimals below 1000.
    text = fmt(mean, col in COUNTS and float(mean).is_integer())
    low, high = row.get(f"{col}_ci_low"), row.get(f"{col}_ci_high")
    # Intervals and ranges that collapse onto the mean add only noise to the table.
    if not _missing(low) and not _missing(high) and fmt(low) != fmt(high):
        text += f" [{fmt(low)}, {fmt(high)}]"
    lo, hi = row.get(f"{col}_min"), row.get(f"{col}_max")
    if not _missing(lo) and not _missing(hi) and fmt(lo) != fmt(hi):
        text += f" ({fmt(lo, col in COUNTS)}{dash}{fmt(hi, col in COUNTS)})"
    return text


def best_rows(board: pd.DataFrame, col: str, larger: bool) -> set[int]:
    """Row positions holding the best mean of a column (ties all count); none when the
    column has fewer than two distinct values, as nothing then stands out."""
    if col not in board:
        return set()
    values = pd.to_numeric(board[col], errors="coerce")
    if values.dropna().nunique() < 2:
        return set()
    best = values.max() if larger else values.min()
    return {i for i, v in enumerate(values) if v == best}


def _table(board: pd.DataFrame, cols: list[tuple[str, str, bool]], bold: str,
           dash: str) -> tuple[list[str], list[list[str]]]:
    """Header and body cells of one table, best cells wrapped by the `bold` template."""
    header = ["Method"] + [h for _, h, _ in cols]
    body = [[str(m)] for m in board["method"]]
    for col, _, larger in cols:
        best = best_rows(board, col, larger)
        for i, (_, row) in enumerate(board.iterrows()):
            text = cell_text(row, col, dash)
            body[i].append(bold.format(text) if i in best and text != NA else text)
    return header, body


def to_markdown(board: pd.DataFrame, title: str = "Leaderboard") -> str:
    """The leaderboard as Markdown tables, one per section."""
    lines = [f"# {title}", "",
             "Mean over seeds [95% interval] (min-max); best in bold; n/a: undefined.", ""]
    for name, cols in sections():
        header, body = _table(board, cols, "**{}**", "-")
        lines += [f"## {name}", "", "| " + " | ".join(header) + " |",
                  "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        lines.append("")
    return "\n".join(lines)


def _tex_escape(text: str) -> str:
    """Escape the LaTeX specials that method names and numbers can contain."""
    for char in ("\\", "&", "%", "$", "#", "_", "{", "}"):
        text = text.replace(char, "\\" + char)
    return text


def to_latex(board: pd.DataFrame) -> str:
    """The leaderboard as booktabs LaTeX tables, one per section."""
    parts = []
    for name, cols in sections():
        escaped = board.assign(method=[_tex_escape(str(m)) for m in board["method"]])
        header, body = _table(escaped, cols, "\\textbf{{{}}}", "--")
        parts += [f"% {name}", "\\begin{tabular}{l" + "r" * len(cols) + "}", "\\toprule",
                  " & ".join(header) + " \\\\", "\\midrule"]
        parts += [" & ".join(r) + " \\\\" for r in body]
        parts += ["\\bottomrule", "\\end{tabular}", ""]
    return "\n".join(parts)


def write_tables(board: pd.DataFrame, out_dir: str | Path, title: str = "Leaderboard"
                 ) -> list[Path]:
    """Write leaderboard.csv, .md and .tex into `out_dir`; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "leaderboard.csv", out / "leaderboard.md", out / "leaderboard.tex"]
    board.to_csv(paths[0], index=False, na_rep=NA)
    paths[1].write_text(to_markdown(board, title))
    paths[2].write_text(to_latex(board))
    return paths
