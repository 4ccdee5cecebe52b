"""SLURM jobs: a job asks for the GPUs its workers use, and a sweep point that cannot finish
within the time limit and its requeues is refused in one line before it starts."""
from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from bench.cli.run import check_fits_job
from bench.config.suite import SuiteError, load_suite
from bench.config.suite_files import compose_part
from bench.execute import slurm
from bench.execute.jobs import Paths, training_todo

LAUNCHER = Path(__file__).resolve().parents[2] / "bench/conf/hydra/launcher/slurm_gpu.yaml"
MODEL = 4_321_152  # passes of one SD3.5 model (31 epochs)
RATE = 144_000  # bench/conf/config.yaml: 30 GPU-hours per model


def _gpus_asked(workers):
    launcher = OmegaConf.load(LAUNCHER)
    return OmegaConf.create({"workers": workers, "hydra": {"launcher": launcher}}
                            ).hydra.launcher.gpus_per_node


def test_the_gpu_job_asks_for_one_gpu_per_worker():
    assert _gpus_asked(2) == 2
    assert _gpus_asked(None) == 4  # bench.run then starts one worker per GPU it has


def test_the_job_limit_counts_the_requeues():
    assert slurm.job_limit_hours({"timeout_min": 1440, "max_num_timeout": 3}) == 96
    assert slurm.job_limit_hours({"timeout_min": 90}) == 1.5
    assert slurm.job_limit_hours({"n_jobs": 2}) is None  # joblib, the basic launcher


def test_makespan_hands_tasks_to_the_first_free_worker():
    assert slurm.makespan([30.0] * 5, 4) == 60
    assert slurm.makespan([30.0] * 5, 1) == 150
    assert slurm.makespan([], 4) == 0


def test_five_fixed_weight_models_on_one_gpu_are_refused_in_one_line():
    with pytest.raises(slurm.JobTooLongError) as err:
        slurm.check_job_limit("sd35_photo_sketch", [MODEL] * 5, [], 1, RATE, 96.0)
    line = str(err.value)
    assert "\n" not in line
    assert "150 GPU-hours" in line and "limit of 96 h" in line and "split the point" in line


def test_the_same_point_on_four_gpus_fits():
    assert slurm.check_job_limit("sd35_photo_sketch", [MODEL] * 5, [], 4, RATE, 96.0) \
        == pytest.approx(60, abs=0.1)


def test_a_run_longer_than_the_limit_alone_says_so():
    with pytest.raises(slurm.JobTooLongError, match="one training run alone needs 30 h"):
        slurm.check_job_limit("s", [MODEL], [], 8, RATE, 24.0)


def test_bench_run_refuses_a_point_over_its_job_limit(tmp_path, monkeypatch):
    suite = load_suite({**compose_part("smoke", {}), "methods": ["paretoslider"]})
    _, todo = training_todo(suite, Paths(tmp_path / "s", tmp_path / "c", suite.prompts))
    monkeypatch.setattr(slurm, "launcher_settings", lambda: {"timeout_min": 60})
    with pytest.raises(SuiteError, match="suite smoke: an estimated .* limit of 1 h"):
        check_fits_job(suite, todo, workers=1, passes_per_gpu_hour=1.0)
    check_fits_job(suite, todo, workers=1, passes_per_gpu_hour=1e12)  # fits: no error
    monkeypatch.setattr(slurm, "launcher_settings", dict)  # no time limit: never refused
    check_fits_job(suite, todo, workers=1, passes_per_gpu_hour=1.0)
