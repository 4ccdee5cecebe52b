"""`python -m bench.tune suite=<name> [results_dir=results] [write=true]`: each method's
setting, as its frontier chose it.

Tuning is the frontier: `<name>_frontier` trains every method at several values of its knob
(`python -m bench.run suite=<name>_frontier`), and its report picks, per method, the
setting with the best held-out HV matched among those whose worst-w adherence drop stays
within the headline budget (`bench.report.frontier`; written to chosen.yaml). This command prints
those picks beside the suite's current `method_options` and, with write=true, writes them
into the suite file (other settings, such as each method's lr, are kept).
"""
from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from bench.config.suite_files import SUITE_CONF as CONF
from bench.store.files import atomic_text

ARGUMENTS = ("suite", "results_dir", "write")


class TuneError(ValueError):
    """What keeps the picks from being read or written; one line."""


def frontier_picks(suite: str, results_dir: Path) -> tuple[dict[str, dict], list[int]]:
    """The frontier report's picks (chosen.yaml) for `suite`, and the seeds they were
    chosen on."""
    frontier = f"{suite}_frontier"
    if not (CONF / f"{frontier}.yaml").is_file():
        raise TuneError(f"suite {suite} has no frontier suite {frontier!r} in {CONF}; define "
                        "one like two_obj_frontier.yaml")
    chosen = results_dir / frontier / "chosen.yaml"
    if not chosen.is_file():
        raise TuneError(f"no picks in {chosen}: run `python -m bench.run suite={frontier} "
                        f"results_dir={results_dir}` first")
    found = yaml.safe_load(chosen.read_text()) or {}
    return found.get("method_options") or {}, [int(s) for s in found.get("seeds") or []]


def merged(current: dict, picks: dict) -> dict:
    """`current` method_options with each pick laid over its method's entry (nested runs too)."""
    out = {m: dict(v or {}) for m, v in current.items()}
    for method, pick in picks.items():
        entry = out.setdefault(method, {})
        for key, value in pick.items():
            entry[key] = ({**(entry.get(key) or {}), **value} if isinstance(value, dict)
                          else value)
    return out


def options_block(options: dict, suite: str, seeds: Sequence[int] = ()) -> str:
    lines = [(f"# each method's knob as its frontier chose it: python -m bench.tune suite={suite} "
             "write=true"), "method_options:"]
    for method, entry in options.items():
        flow = yaml.safe_dump(entry, default_flow_style=True, width=1000).strip()
        lines.append(f"  {method}: {flow}")
    if seeds:
        lines.append(f"chosen_on_seeds: [{', '.join(map(str, seeds))}]  # the frontier's seeds")
    return "\n".join(lines) + "\n"


def write_options(path: Path, options: dict, suite: str, seeds: Sequence[int] = ()) -> None:
    """Replace the suite file's method_options block (and the comment lines just above it)
    and its chosen_on_seeds line."""
    text = path.read_text()
    text = re.sub(r"^chosen_on_seeds:.*\n", "", text, flags=re.MULTILINE)
    block = re.compile(r"(?:^#.*\n)*^method_options:.*\n(?:[ \t]+.*\n)*", re.MULTILINE)
    new = options_block(options, suite, seeds)
    text = block.sub(lambda _: new, text, count=1) if block.search(text) else text + new
    atomic_text(path, text)


def parse_args(argv: Sequence[str]) -> dict[str, str]:
    out = {}
    for arg in argv:
        key, sep, value = arg.lstrip("+").partition("=")
        if not sep or key not in ARGUMENTS:
            raise TuneError(f"expected one of {', '.join(a + '=...' for a in ARGUMENTS)}, "
                            f"got {arg!r}")
        out[key] = value
    if "suite" not in out:
        raise TuneError("name the suite: suite=NAME")
    if out.get("write", "false") not in ("true", "false"):
        raise TuneError(f"write must be true or false, got {out['write']!r}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    suite = args["suite"]
    path = CONF / f"{suite}.yaml"
    if not path.is_file():
        raise TuneError(f"unknown suite {suite!r}")
    picks, seeds = frontier_picks(suite, Path(args.get("results_dir", "results")))
    current = (yaml.safe_load(path.read_text()) or {}).get("method_options") or {}
    for method, pick in picks.items():
        print(f"{method}: {current.get(method, {})} -> {pick}")
    if args.get("write") == "true":
        write_options(path, merged(current, picks), suite, seeds)
        print(f"wrote method_options of {path}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TuneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
