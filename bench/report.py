"""Build a suite's leaderboard and figures from what its run saved, without retraining.

    python -m bench.report suite=two_obj [results_dir=results]
    python -m bench.report suites=obj2,obj3,obj4,obj5 [name=scaling] [results_dir=results]

The first form reads `<results_dir>/<suite>/records.jsonl` and its side files and writes
leaderboard.{md,csv,tex}, per_run.csv and figures/*.png beside them. The second draws HV,
controllability and cost against the number of objectives from several suites' records,
into `<results_dir>/<name>/figures/scaling.png`. A missing side file skips its figure
with a printed note.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bench import figures, image_figures
from bench.aggregate import leaderboard, per_run_table
from bench.records import read_records
from bench.sidefiles import load_train_logs, note
from bench.tables import NA, write_tables

DEFAULT_RESULTS = Path("results")


def load_suite(suite_dir: str | Path) -> list[dict]:
    """A suite's records; raises FileNotFoundError naming the path if there are none."""
    path = Path(suite_dir) / "records.jsonl"
    records = read_records(path)
    if not records:
        raise FileNotFoundError(f"no records in {path}: run `python -m bench.run` first")
    return records


def build_figures(suite_dir: Path, records: Sequence[dict]) -> list[Path]:
    """All figures a suite's saved files allow; returns the paths written."""
    fig_dir = suite_dir / "figures"
    out = [figures.pareto_plot(records, fig_dir / "pareto.png", "heldout"),
           figures.pareto_plot(records, fig_dir / "pareto_train.png", "train")]
    out.append(image_figures.slider_strips(suite_dir, records, fig_dir / "slider_strips.png"))
    if len(records[0]["w"]) == 3:
        dynamic = dict.fromkeys(r["method"] for r in records if r.get("w_dependent", True))
        for method in dynamic:
            out.append(image_figures.simplex_grid(suite_dir, records, method,
                                                  fig_dir / f"simplex_{method}.png"))
    logs = load_train_logs(suite_dir)
    if logs:
        out.append(figures.training_curves(logs, fig_dir / "training_curves.png"))
    else:
        note(f"no training logs under {suite_dir / 'train_logs'}: training curves skipped")
    return [p for p in out if p is not None]


def build_report(suite_dir: str | Path, ref_point: Sequence[float] | None = None
                 ) -> dict[str, list[Path] | pd.DataFrame]:
    """Leaderboard tables and figures of one suite, from its records and side files alone.

    `ref_point` (normalised, one entry per objective) overrides the hypervolume reference
    the records carry (their `ref_point`, else the origin).
    Returns {"leaderboard": DataFrame, "tables": [paths], "figures": [paths]}.
    """
    suite_dir = Path(suite_dir)
    records = load_suite(suite_dir)
    per_run = per_run_table(records, suite_dir, ref_point)
    board = leaderboard(per_run)
    per_run.to_csv(suite_dir / "per_run.csv", index=False, na_rep=NA)
    title = f"Leaderboard: {records[0].get('suite', suite_dir.name)}"
    tables = write_tables(board, suite_dir, title)
    return {"leaderboard": board, "tables": tables, "figures": build_figures(suite_dir, records)}


def build_scaling_report(suite_dirs: Sequence[str | Path], out_dir: str | Path) -> Path:
    """HV / controllability / cost versus the number of objectives, over several suites.

    Each suite's leaderboard is recomputed from its records, keyed by its number of
    objectives; the figure goes to `<out_dir>/figures/scaling.png`.
    """
    boards = {}
    for suite_dir in suite_dirs:
        records = load_suite(suite_dir)
        boards[len(records[0]["objectives"])] = leaderboard(per_run_table(records, suite_dir))
    return figures.scaling_plot(boards, Path(out_dir) / "figures" / "scaling.png")


def parse_args(argv: Sequence[str]) -> dict[str, str]:
    """Hydra-style key=value arguments (a leading '+' is accepted and dropped)."""
    out = {}
    for arg in argv:
        key, sep, value = arg.lstrip("+").partition("=")
        if not sep or not key:
            raise SystemExit(f"expected key=value, got {arg!r}; see `python -m bench.report`")
        out[key] = value
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    results = Path(args.get("results_dir", DEFAULT_RESULTS))
    if "suites" in args:
        dirs = [results / s for s in args["suites"].split(",") if s]
        path = build_scaling_report(dirs, results / args.get("name", "scaling"))
        print(f"wrote {path}")
        return 0
    if "suite" not in args:
        print(__doc__)
        return 2
    out = build_report(results / args["suite"])
    for path in [*out["tables"], *out["figures"]]:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except FileNotFoundError as err:
        sys.exit(f"bench.report: {err}")
