"""Interrupting `bench.run`: Ctrl-C stops the workers and says how to resume in one line;
kill -9 of the main process alone takes its workers with it."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.cli.run import INTERRUPTED

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]


def children(pid: int) -> list[int]:
    """Live (non-zombie) processes whose parent is `pid`."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_until_training(tmp_path: Path) -> tuple[subprocess.Popen, list[int]]:
    """bench.cli.run on the smoke suite, returned once its training worker is running."""
    args = [sys.executable, "-m", "bench.run", "suite=smoke", f"results_dir={tmp_path / 'r'}",
            f"cache_dir={tmp_path / 'c'}", "workers=1", "report=false"]
    # a process group, as in a shell; Ctrl-C enabled even when the tests themselves run in
    # the background, where SIGINT is ignored and that would be inherited
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        kids = children(proc.pid)
        if len(kids) >= 2:  # the resource tracker and the worker
            time.sleep(3)  # let the worker import and start training
            return proc, children(proc.pid)
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"no worker started: {proc.communicate()[1][-2000:]}")


def gone_within(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.2)
    return [p for p in pids if alive(p)]


def test_ctrl_c_stops_workers_and_prints_one_line(tmp_path):
    proc, kids = start_until_training(tmp_path)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == INTERRUPTED
    assert gone_within(kids, 10) == []


def test_kill_9_of_the_main_process_takes_its_workers(tmp_path):
    proc, kids = start_until_training(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)  # the main process only, not its group
    proc.wait(timeout=10)
    survivors = gone_within(kids, 10)
    for pid in survivors:  # do not leave them running if the test fails
        os.kill(pid, signal.SIGKILL)
    assert survivors == []
