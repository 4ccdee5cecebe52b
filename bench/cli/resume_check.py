"""`python -m bench.resume_check --suite smoke --kills 10`: kill a run anywhere, prove it resumes.

Runs the suite once uninterrupted, then again with SIGKILL at random moments (the whole
process group, workers included) followed by a final uninterrupted invocation, and compares
the records as a set keyed by (method, seed, w), timing fields left out. Prints the verdict
and exits non-zero on any difference, duplicate or truncated line.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.config.suite_files import known_suites
from bench.store.records import read_records
from paretoslider.cli import Parser, non_negative_int, positive_float, positive_int

TIMING = {"wall_s", "slider_change_cost"}


def start(root: Path, suite: str, *extra: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "bench.run", f"suite={suite}", f"results_dir={root / 'results'}",
            f"cache_dir={root / 'cache'}", "report=false", *extra]
    # a session of its own, so that one kill reaches the worker processes too
    return subprocess.Popen(args, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float = 3600) -> None:
    if proc.wait(timeout=timeout) != 0:
        raise RuntimeError(f"run failed: {proc.stderr.read().decode()[-2000:]}")


def comparable(root: Path, suite: str) -> dict:
    """Records keyed by (method, seed, w), timing fields removed; raises on duplicates."""
    out = {}
    for r in read_records(root / "results" / suite / "records.jsonl", strict=True):
        key = (r["method"], r["seed"], tuple(r["w"]))
        if key in out:
            raise AssertionError(f"duplicated record {key}")
        cost = {k: v for k, v in r["cost"].items() if k not in TIMING}
        out[key] = (r["rewards"], r["judges"], r["quality"], cost)
    return out


def killed_run(root: Path, suite: str, kills: int, window: tuple[float, float], rng) -> list[float]:
    """Start and SIGKILL the suite `kills` times at random moments, then let it finish."""
    moments = []
    for _ in range(kills):
        proc = start(root, suite)
        moments.append(round(rng.uniform(*window), 1))
        time.sleep(moments[-1])
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finish(start(root, suite))
    return moments


def differences(a: dict, b: dict) -> list[str]:
    out = [f"missing {k}" for k in a.keys() - b.keys()] + [f"extra {k}" for k in b.keys() - a.keys()]
    return out + [f"differs {k}" for k in a.keys() & b.keys() if a[k] != b[k]]


def main(argv=None) -> int:
    p = Parser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", default="smoke", choices=known_suites())
    p.add_argument("--kills", type=positive_int, default=10)
    p.add_argument("--window", type=positive_float, nargs=2, default=(3.0, 15.0),
                   help="seconds after start between which each kill falls")
    p.add_argument("--seed", type=non_negative_int, default=0)
    args = p.parse_args(argv)
    if args.window[0] > args.window[1]:
        p.error(f"--window {args.window[0]} {args.window[1]}: the start is after the end")
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        whole, killed = Path(tmp) / "whole", Path(tmp) / "killed"
        whole.mkdir()
        killed.mkdir()
        finish(start(whole, args.suite))
        moments = killed_run(killed, args.suite, args.kills, tuple(args.window), rng)
        diff = differences(comparable(whole, args.suite), comparable(killed, args.suite))
    print(f"killed at {moments} s; {'identical records' if not diff else 'DIFFERENT:'}")
    for line in diff[:20]:
        print(f"  {line}")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
