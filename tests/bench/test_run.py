"""The smoke suite end to end: records, tables, figures; a rerun skips finished cells."""
import json
import os
import subprocess
import sys

import pytest
import yaml

from bench.store.records import read_records

pytestmark = pytest.mark.slow


def run(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "bench.run", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    root = tmp_path_factory.mktemp("smoke")
    args = ("suite=smoke", f"results_dir={root / 'results'}", f"cache_dir={root / 'cache'}")
    first = run(*args, cwd=root)
    assert first.returncode == 0, first.stderr[-2000:]
    return root, args, first


def test_smoke_writes_records_tables_and_figures(smoke):
    root, _, _ = smoke
    suite = root / "results" / "smoke"
    records = read_records(suite / "records.jsonl", strict=True)
    methods = {r["method"] for r in records}
    assert {"paretoslider", "fixed_weight", "prompting", "rewarded_soups"} <= methods
    assert len(records) == len(methods) * 3  # 3 grid points, 1 seed
    for name in ("leaderboard.md", "leaderboard.csv", "leaderboard.tex", "run.json"):
        assert (suite / name).stat().st_size > 0
    assert (suite / "figures" / "pareto.png").exists()
    assert sorted(p.name for p in root.iterdir()) == ["cache", "results"]  # no Hydra folders
    assert json.loads((suite / "run.json").read_text())["command"].endswith(
        f"cache_dir={root / 'cache'}")
    # the settings that ran, which the report's header reads
    ran = yaml.safe_load((suite / "suite.yaml").read_text())
    assert ran["name"] == "smoke" and ran["budget"]["passes"] > 0


def test_results_go_to_the_git_ignored_runs_folder_by_default():
    from bench.config.settings import compose

    cfg = compose(["suite=smoke"])
    assert cfg["results_dir"] == "runs" and cfg["cache_dir"] == ".cache/runs"
    ignored = subprocess.run(["git", "check-ignore", "runs/smoke/records.jsonl"],
                             capture_output=True, text=True, check=False)
    assert ignored.returncode == 0 or "not a git repository" in ignored.stderr


def test_rerun_skips_finished_work_and_adds_nothing(smoke):
    root, args, _ = smoke
    suite = root / "results" / "smoke"
    before = (suite / "records.jsonl").read_text()
    provenance = (suite / "run.json").read_text()
    again = run(*args, cwd=root)
    assert again.returncode == 0, again.stderr[-2000:]
    lines = [ln for ln in again.stdout.splitlines() if "already recorded" in ln]
    start_over = f"rm -r {suite} {root / 'cache' / 'results' / 'smoke'}"
    assert lines == [f"all cells are already recorded in {suite}; to start over: {start_over}"]
    assert (suite / "records.jsonl").read_text() == before
    assert (suite / "run.json").read_text() == provenance  # names the run that made them


def test_rerun_with_another_base_model_is_refused(smoke):
    from paretoslider.worlds import pretrain

    root, args, _ = smoke
    micro = root / "micro" / "base.safetensors"
    pretrain.pretrain(pretrain.MICRO, micro, root / "micro" / "cache", progress=False)
    suite = root / "results" / "smoke"
    before = (suite / "records.jsonl").read_text()
    out = run(*args, cwd=root, env={**os.environ, "PARETOSLIDER_BASE_MODEL": str(micro)})
    assert out.returncode != 0
    assert "another configuration or base model" in out.stderr
    assert out.stderr.strip().count("\n") == 0
    assert (suite / "records.jsonl").read_text() == before


@pytest.mark.parametrize("args, message", [
    (("suite=nope",), "unknown suite 'nope'; known: "),
    (("suite=smoke", "suite.budget.passes=-1"), "budget.passes must be > 0"),
    (("suite=smoke", "suite.methods=[paretoslider,magic]"), "unknown method 'magic'"),
])
def test_bad_input_exits_non_zero_with_one_line_and_writes_nothing(tmp_path, args, message):
    out = run(*args, f"results_dir={tmp_path / 'results'}", cwd=tmp_path)
    assert out.returncode != 0
    assert message in out.stderr and out.stderr.strip().count("\n") == 0
    assert not (tmp_path / "results").exists()
