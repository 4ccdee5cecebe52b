"""Kill `bench.run suite=smoke` at random moments, rerun: the records match an uninterrupted run.

Also the determinism check: the same seed gives identical records, timing fields aside.
"""
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from bench.records import read_records

pytestmark = pytest.mark.slow
TIMING = {"wall_s", "slider_change_cost"}


def start(root, *extra):
    args = [sys.executable, "-m", "bench.run", "suite=smoke", f"results_dir={root / 'results'}",
            f"cache_dir={root / 'cache'}", "report=false", *extra]
    # a session of its own, so that a kill reaches the worker processes too
    return subprocess.Popen(args, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def comparable(root) -> dict:
    records = read_records(root / "results" / "smoke" / "records.jsonl", strict=True)
    out = {}
    for r in records:
        key = (r["method"], r["seed"], tuple(r["w"]))
        assert key not in out, f"duplicated record {key}"
        cost = {k: v for k, v in r["cost"].items() if k not in TIMING}
        out[key] = (r["rewards"], r["judges"], r["quality"], cost)
    return out


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    root = tmp_path_factory.mktemp("whole")
    done = start(root)
    assert done.wait(timeout=600) == 0, done.stderr.read().decode()[-2000:]
    return root


def test_kill_anywhere_then_resume_gives_the_same_records(tmp_path, whole):
    killed = tmp_path / "killed"
    killed.mkdir()
    rng = random.Random(os.getpid())
    for _ in range(2):  # two kills at random points of the run
        proc = start(killed)
        time.sleep(rng.uniform(4.0, 14.0))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    final = start(killed)
    assert final.wait(timeout=600) == 0, final.stderr.read().decode()[-2000:]

    a, b = comparable(whole), comparable(killed)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == b[key], key


def test_another_seed_gives_other_records(tmp_path, whole):
    proc = start(tmp_path, "suite.seeds=[5]", "only_methods=[paretoslider]")
    assert proc.wait(timeout=600) == 0, proc.stderr.read().decode()[-2000:]
    seed0 = {k[2]: v for k, v in comparable(whole).items() if k[0] == "paretoslider"}
    seed5 = {k[2]: v for k, v in comparable(tmp_path).items()}
    assert seed0.keys() == seed5.keys()
    assert all(seed0[w][0] != seed5[w][0] for w in seed0)
