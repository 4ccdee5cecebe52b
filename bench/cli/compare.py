"""A run's held-out HV and Spearman per method beside a reference run's.

    python -m bench.compare runs/two_obj results/two_obj
"""
from __future__ import annotations

import sys
from pathlib import Path

from bench.report.compare import CompareError, compare, format_comparison


def main(argv: list[str] | None = None) -> int:
    from paretoslider.cli import Parser

    p = Parser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path, help="a suite's results, e.g. runs/two_obj")
    p.add_argument("reference_dir", type=Path, help="the reference, e.g. results/two_obj")
    a = p.parse_args(argv)
    try:
        print(format_comparison(compare(a.run_dir, a.reference_dir)))
    except (FileNotFoundError, CompareError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
