"""`paretoslider-bench COMMAND [ARGS ...]`: one console script for every entry point.

`paretoslider-bench run suite=two_obj` is `python -m bench.run suite=two_obj`, and so on for
each command below; `paretoslider-bench COMMAND --help` (or no arguments) shows its usage.
"""
from __future__ import annotations

import runpy
import sys

COMMANDS = {  # command -> what it does (its module is bench.cli.<command>)
    "run": "train, evaluate and report a suite",
    "report": "rebuild a suite's leaderboard, figures and page from its records",
    "compare": "a run's numbers beside a reference run's",
    "tune": "each method's setting, as its frontier chose it",
    "calibrate": "the ideal box of a suite's HV norm",
    "doctor": "check the environment, one line per problem",
    "resume_check": "kill a run at random moments and prove it resumes",
    "slider": "train ParetoSlider alone on a suite's objectives and measure it",
    "gpu_check": "the SD3.5 training path on one GPU, with random weights",
    "memory_table": "GPU memory of SD3.5 training and evaluation, computed",
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {what}" for name, what in COMMANDS.items()]
    return "usage: paretoslider-bench COMMAND [ARGS ...]\ncommands:\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    command, rest = argv[0].replace("-", "_"), argv[1:]
    if command not in COMMANDS:
        print(f"error: unknown command {argv[0]!r}; known: {', '.join(COMMANDS)}",
              file=sys.stderr)
        return 2
    sys.argv = [f"paretoslider-bench {command}", *rest]
    runpy.run_module(f"bench.cli.{command}", run_name="__main__", alter_sys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
