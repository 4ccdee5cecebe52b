"""Results that cannot be mixed or misread, through the real command line: a lock per results
folder, records audited when read (repair moves, never deletes), one line for a fault in the
middle of a run, missing images shown as gaps, per-point multirun folders, progress."""
from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.store.records import append_record, read_records
from tests.bench.conftest import make_record, two_obj_records

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
FAULTS = "imports=[tests.bench.fault_methods]"


def bench(*args: str, cwd: Path = ROOT, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, check=False, **kw)


def error_lines(out: subprocess.CompletedProcess) -> list[str]:
    return [ln for ln in out.stderr.splitlines() if ln.startswith("error: ")]


def test_a_second_run_on_a_busy_folder_stops_in_one_line_and_sigterm_resumes(tmp_path):
    args = [sys.executable, "-m", "bench.run", "suite=smoke", f"results_dir={tmp_path / 'r'}",
            f"cache_dir={tmp_path / 'c'}", "workers=1"]
    first = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    holder = tmp_path / "r" / "smoke" / ".bench.lock.json"
    deadline = time.monotonic() + 120
    while not holder.exists() and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.2)
    assert holder.exists(), first.communicate()[1][-2000:]
    second = bench(*args[2:])
    assert second.returncode == 1
    assert error_lines(second) == [error_lines(second)[0]]
    assert f"is in use by another run (pid {first.pid}: " in error_lines(second)[0]
    os.kill(first.pid, signal.SIGTERM)  # as a scheduler preempts a job
    _, err = first.communicate(timeout=120)
    assert first.returncode == 130 and "interrupted; run the same command to resume" in err
    assert group_gone_within(first.pid, 10)  # its workers went with it
    assert not holder.exists()


def group_gone_within(pgid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def test_the_lock_of_a_dead_process_is_taken_over(tmp_path):
    from bench.store.locks import folder_lock

    code = ("import os, sys; from bench.store.locks import folder_lock; "
            f"cm = folder_lock({str(tmp_path)!r}); cm.__enter__(); os._exit(9)")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False, timeout=60)
    assert (tmp_path / ".bench.lock.json").exists()  # left behind by the killed process
    with folder_lock(tmp_path):
        assert json.loads((tmp_path / ".bench.lock.json").read_text())["pid"] == os.getpid()


def _suite_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "r" / "two_obj"
    folder.mkdir(parents=True)
    (folder / "suite.yaml").write_text("name: two_obj\n")
    for rec in two_obj_records((0, 1)):
        append_record(folder / "records.jsonl", rec)
    return folder


def test_foreign_and_conflicting_records_are_refused_then_moved_aside(tmp_path):
    folder = _suite_folder(tmp_path)
    n = len(read_records(folder / "records.jsonl"))
    append_record(folder / "records.jsonl", make_record("flow_multi", 0, [1.0, 0.0], [0.5, 0.5],
                                                        [0.5, 0.5], suite="smoke"))
    conflict = {**read_records(folder / "records.jsonl")[0]}
    conflict["judges"] = {k: 0.99 for k in conflict["judges"]}
    append_record(folder / "records.jsonl", conflict)
    agree = read_records(folder / "records.jsonl")[1]
    append_record(folder / "records.jsonl", agree)  # a duplicate that agrees is fine
    report = ("bench.report", "suite=two_obj", f"results_dir={tmp_path / 'r'}")
    out = bench(*report)
    assert out.returncode == 1, out.stderr[-2000:]
    line = error_lines(out)[0]
    assert f"line {n + 1}: a record of suite smoke, not two_obj" in line
    assert f"line {n + 2}: conflicts with line 1" in line and "repair=true" in line
    assert not (folder / "leaderboard.md").exists()  # nothing was mixed in
    out = bench(*report, "repair=true")
    assert out.returncode == 0, out.stderr[-2000:]
    assert len(read_records(folder / "records.jsonl")) == n
    moved = read_records(folder / "records.rejected.jsonl")
    assert [r["method"] for r in moved] == ["flow_multi", "paretoslider", "fixed_weight"]
    assert (folder / "leaderboard.md").exists()


def test_a_byte_order_mark_keeps_the_first_record(tmp_path):
    path = tmp_path / "records.jsonl"
    rec = make_record("paretoslider", 0, [1.0, 0.0], [0.5, 0.5], [0.5, 0.5])
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(rec) + "\n").encode())
    assert read_records(path, strict=True) == [rec]


def test_written_files_keep_the_umask(tmp_path):
    from paretoslider.checkpoint import atomic_write

    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "f.json", b"{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.json").stat().st_mode) == 0o644


@pytest.mark.parametrize("method, message", [
    ("fault_disk_full", ("error: No space left on device (results/records.jsonl); finished "
                        "training runs and recorded cells are kept")),
    ("fault_worker_dies", ("error: a worker process died (killed by the system, often for "
                          "lack of memory: try workers=1); finished training runs")),
])
def test_a_fault_in_the_middle_of_a_run_is_one_line_with_the_resume_hint(tmp_path, method,
                                                                         message):
    out = bench("bench.run", "suite=smoke", FAULTS, f"results_dir={tmp_path}",
                f"cache_dir={tmp_path / 'c'}", f"only_methods=[prompting,{method}]",
                f"suite.methods=[prompting,{method}]", "workers=1", "report=false")
    assert out.returncode == 1, out.stderr[-2000:]
    assert error_lines(out) == [error_lines(out)[0]] and error_lines(out)[0].startswith(message)
    assert "Traceback" not in out.stderr
    assert "run the same command to resume" in error_lines(out)[0]


def test_a_missing_sample_image_is_a_labelled_gap_not_a_shift(tmp_path):
    from bench.report.html import sample_strips
    from bench.report.image_figures import _first_seed_cells

    records = [r for r in two_obj_records((0,)) if r["method"] == "paretoslider"]
    sample = min((ROOT / "results" / "two_obj" / "samples" / "paretoslider").glob("*.png"))
    for i, r in enumerate(records):
        png = tmp_path / "samples" / "paretoslider" / f"seed0_w{i}.png"
        png.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(sample, png)
        r["w_index"] = i
    (tmp_path / "samples" / "paretoslider" / "seed0_w2.png").unlink()
    cells = _first_seed_cells(tmp_path, records)["paretoslider"]
    assert [c[0] for c in cells] == [tuple(r["w"]) for r in records]
    assert [c[1] is None for c in cells] == [False, False, True, False, False]
    tiles = sample_strips(tmp_path, records)["paretoslider"]["tiles"]
    assert [t["src"] is None for t in tiles] == [False, False, True, False, False]


def test_units_trained_on_other_prompts_live_apart(tmp_path):
    from bench.execute.jobs import PROMPTS_FILE, Paths
    from paretoslider.methods import Unit
    from paretoslider.trainer.config import TrainConfig

    unit = Unit("u", TrainConfig(), ("photo", "sketch"))
    first = Paths(tmp_path, tmp_path / "runs", ["a circle"])
    assert first.unit_dir(unit) == tmp_path / "runs" / unit.key()  # the key as it always was
    first.unit_dir(unit).mkdir(parents=True)
    (first.unit_dir(unit) / PROMPTS_FILE).write_text(json.dumps(["a circle"]))
    assert first.unit_dir(unit) == tmp_path / "runs" / unit.key()
    other = Paths(tmp_path, tmp_path / "runs", ["a square"]).unit_dir(unit)
    assert other.name.startswith(unit.key() + "-p") and other != first.unit_dir(unit)


def test_a_multirun_over_a_suite_setting_writes_each_point_apart(tmp_path):
    out = bench("bench.run", "-m", "suite=smoke", "suite.eval.steps=2,3",
                "only_methods=[prompting]", f"results_dir={tmp_path}",
                f"cache_dir={tmp_path / 'c'}", "workers=1", "report=false")
    assert out.returncode == 0, out.stderr[-2000:]
    for steps in (2, 3):
        folder = tmp_path / f"smoke@eval.steps={steps}"
        assert f"results in {folder}" in out.stdout
        assert {r["suite"] for r in read_records(folder / "records.jsonl")} == {folder.name}


def test_the_bar_moves_within_a_training_run(tmp_path):
    from bench.cli.run import compose_part
    from bench.config.suite import load_suite
    from bench.execute.jobs import Paths, run_training, training_todo, unit_work

    suite = load_suite({**compose_part("smoke", {}), "methods": ["paretoslider"]})

    class Bar:
        def __init__(self):
            self.updates: list[int] = []

        def update(self, n):
            self.updates.append(n)

    paths = Paths(tmp_path / "s", tmp_path / "c", suite.prompts)
    _, todo = training_todo(suite, paths)
    bar = Bar()
    run_training(suite, paths, 1, 1, progress=bar)
    total = sum(unit_work(suite, u) for u in todo.values())
    assert sum(bar.updates) == total
    assert len([n for n in bar.updates if n > 0]) > len(todo)  # per epoch, not per run


def test_doctor_refuses_a_thread_count_that_is_no_number():
    out = bench("bench.doctor", env={**os.environ, "OMP_NUM_THREADS": "abc"})
    assert out.returncode == 1
    assert "[FAIL] OMP_NUM_THREADS='abc': must be a positive integer" in out.stdout


def test_a_yaml_error_in_a_suite_file_is_one_line_with_its_place():
    bad = ROOT / "bench" / "conf" / "suite" / "zz_broken_for_test.yaml"
    bad.write_text("name: zz\nmethods: [a, b\nseeds: [0]\n")
    try:
        for args in (("bench.run", "suite=zz_broken_for_test"),
                     ("bench.slider", "--suite", "zz_broken_for_test"),
                     ("bench.calibrate", "zz_broken_for_test")):
            out = bench(*args)
            assert out.returncode == 1, (args, out.stderr[-2000:])
            assert error_lines(out) == [(f"error: suite file: {bad}:3:6: expected ',' or ']', "
                                        "but got ':'")], (args, out.stderr[-2000:])
    finally:
        bad.unlink()
