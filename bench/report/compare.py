"""A run's numbers beside a reference run's, per method, and whether each mean lies inside
the reference's 95% interval over seeds (its min-max range where the seeds agree exactly,
which leaves no interval); `python -m bench.compare` prints it (`bench.cli.compare`).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.report.aggregate import leaderboard, per_run_table
from bench.store.records import read_records
from bench.store.suite_dir import SuiteDir

METRICS = {"heldout_hv": "held-out HV", "heldout_spearman": "held-out Spearman"}


def _records(suite_dir: Path) -> list[dict]:
    records = read_records(SuiteDir(suite_dir).records)
    if not records:
        raise FileNotFoundError(f"no records in {suite_dir / 'records.jsonl'}")
    return records


def _board(records: list[dict], suite_dir: Path) -> pd.DataFrame:
    return leaderboard(per_run_table(records, suite_dir)).set_index("method")


def shared_seeds(mine: list[dict], ref: list[dict]) -> list[dict]:
    """The reference restricted to this run's seeds when it holds all of them: a run of a
    few seeds is then compared with the same seeds, not with the mean over more."""
    seeds = {r["seed"] for r in mine}
    kept = [r for r in ref if r["seed"] in seeds]
    return kept if seeds <= {r["seed"] for r in kept} else ref


class CompareError(ValueError):
    """Two folders that hold different experiments."""


def _what(records: list[dict]) -> tuple[str, tuple[str, ...]]:
    return str(records[0].get("suite")), tuple(records[0]["objectives"])


def check_comparable(mine: list[dict], ref: list[dict]) -> None:
    """Refuse to set side by side two suites, or two sets of objectives."""
    (a, ao), (b, bo) = _what(mine), _what(ref)
    if (a, ao) != (b, bo):
        raise CompareError(f"cannot compare suite {a} (M = {len(ao)}: {', '.join(ao)}) with "
                           f"suite {b} (M = {len(bo)}: {', '.join(bo)}): they are different "
                           "experiments")


def compare(run_dir: str | Path, reference_dir: str | Path) -> pd.DataFrame:
    """One row per method of the run: for each metric the run's mean and interval, the
    reference's, and `<metric>_inside` (True / False; None where either is missing)."""
    mine_records = _records(Path(run_dir))
    all_ref = _records(Path(reference_dir))
    check_comparable(mine_records, all_ref)
    ref_records = shared_seeds(mine_records, all_ref)
    mine, ref = _board(mine_records, Path(run_dir)), _board(ref_records, Path(reference_dir))
    rows = []
    for method in mine.index:
        row = {"method": method, "n_seeds": int(mine.at[method, "n_seeds"]),
               "ref_n_seeds": int(ref.at[method, "n_seeds"]) if method in ref.index else 0}
        for col in METRICS:
            for who, board in (("", mine), ("ref_", ref)):
                for part in ("", "_ci_low", "_ci_high"):
                    value = board.at[method, col + part] if method in board.index else None
                    row[f"{who}{col}{part}"] = None if value is None or pd.isna(value) else value
            mean, low, high = (row[col], row[f"ref_{col}_ci_low"], row[f"ref_{col}_ci_high"])
            if method in ref.index and (low is None or high is None):
                # no interval where the seeds agree exactly (or one seed): their range
                low, high = (ref.at[method, f"{col}_{k}"] for k in ("min", "max"))
                low, high = (None if pd.isna(v) else v for v in (low, high))
            row[f"{col}_inside"] = (None if None in (mean, low, high)
                                    else bool(low - 1e-9 <= mean <= high + 1e-9))
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(row: pd.Series, prefix: str) -> str:
    mean, low, high = row[prefix], row[f"{prefix}_ci_low"], row[f"{prefix}_ci_high"]
    if mean is None or pd.isna(mean):
        return "n/a"
    if low is None or pd.isna(low):
        return f"{mean:.3f}"
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def format_comparison(table: pd.DataFrame) -> str:
    head = ["method"]
    for label in METRICS.values():
        head += [f"{label}: this run", "reference", "inside"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, row in table.iterrows():
        cells = [row["method"]]
        for col in METRICS:
            inside = row[f"{col}_inside"]
            cells += [_cell(row, col), _cell(row, f"ref_{col}"),
                      "n/a" if inside is None or pd.isna(inside) else ("yes" if inside else "NO")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_comparison(run_dir: Path, reference_dir: Path) -> None:
    """Print the comparison, or one line saying why there is none."""
    if Path(run_dir).resolve() == Path(reference_dir).resolve():
        return
    if not read_records(SuiteDir(reference_dir).records):
        print(f"no reference results in {reference_dir}: nothing to compare with")
        return
    try:
        table = compare(run_dir, reference_dir)
    except CompareError as exc:
        print(f"not compared with the reference: {exc}")
        return
    inside = [v for col in METRICS for v in table[f"{col}_inside"] if v is not None]
    print(f"\nthis run ({run_dir}) against the reference ({reference_dir}) on the seeds of "
          "this run; intervals are 95% over seeds (a single seed: its value); 'inside': this "
          "run's mean lies within the reference interval")
    print(format_comparison(table))
    print(f"{sum(inside)} of {len(inside)} means lie inside the reference interval")
