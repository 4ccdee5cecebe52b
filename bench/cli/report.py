"""Build a suite's leaderboard and figures from what its run saved, without retraining.

    python -m bench.report suite=two_obj [results_dir=runs] [oracle=two_obj_oracle] [repair=true]
    python -m bench.report suites=obj2,obj3,obj4,obj5 [name=scaling] [results_dir=results]

The first form reads `<results_dir>/<suite>/records.jsonl` (results_dir: `runs`, where
`bench.run` writes by default; `results_dir=results` for the committed reference) and its side
files, checks them (`bench.store.records.audit`; repair=true moves foreign lines aside) and writes
leaderboard.{md,csv,tex}, per_run.csv, comparisons.csv, blend_by_w.csv, budget.csv (with
checkpoints), figures/*.png and the web page index.html beside them, and
`<results_dir>/index.html` linking every suite's page. Regret needs an oracle: the suite's own records
of method "oracle", else `<results_dir>/<oracle>/records.jsonl` (the `oracle=` argument, the
suite config's `oracle` key, or `<suite>_oracle`). A frontier suite (`report: frontier`,
e.g. two_obj_frontier) gets its frontier report instead (`bench.report.frontier.report`). The
second form draws HV,
controllability and cost against the number of objectives from several suites' records,
into `<results_dir>/<name>/figures/scaling.png`. A missing side file skips its figure with
a printed note.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from bench.report.build import (
    DEFAULT_RESULTS,
    ForeignRecordsError,
    build_report,
    build_scaling_report,
    suite_settings,
)

ARGUMENTS = ("suite", "suites", "name", "results_dir", "oracle", "repair")


def parse_args(argv: Sequence[str]) -> dict[str, str]:
    """Hydra-style key=value arguments (a leading '+' is accepted and dropped)."""
    out = {}
    for arg in argv:
        key, sep, value = arg.lstrip("+").partition("=")
        if not sep or not key:
            usage_error(f"expected key=value, got {arg!r}")
        if key not in ARGUMENTS:
            usage_error(f"unknown argument {key!r}; known: {', '.join(ARGUMENTS)}")
        out[key] = value
    return out


def usage_error(message: str):
    print(f"error: {message}; see `python -m bench.report`", file=sys.stderr)
    raise SystemExit(2)


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
    if suite_settings(args["suite"]).get("report") == "frontier":  # a composite of knob values
        from bench.report.frontier.report import build_frontier_report

        for path in build_frontier_report(results / args["suite"]):
            print(f"wrote {path}")
        return 0
    if args.get("repair", "false") not in ("true", "false"):
        usage_error(f"repair must be true or false, got {args['repair']!r}")
    out = build_report(results / args["suite"], oracle=args.get("oracle"),
                       repair=args.get("repair") == "true")
    for path in [results / args["suite"] / "per_run.csv", *out["tables"], *out["figures"],
                 *out["pages"]]:
        print(f"wrote {path}")
    return 0


def run_main() -> None:
    """The console entry point: a known error ends the process with one line."""
    from paretoslider.cli import one_line_warnings

    one_line_warnings()
    try:
        sys.exit(main())
    except FileNotFoundError as err:
        sys.exit(f"error: {err}")
    except KeyError as err:  # a record without a field every record has
        sys.exit(f"error: a record lacks the field {err}; the records file is damaged")
    except ForeignRecordsError as err:
        sys.exit(f"error: {err}")
    except ValueError as err:  # records that leave nothing to report on
        sys.exit(f"error: cannot build the report from these records: {err}")


if __name__ == "__main__":
    run_main()
