"""bench.cli.run's workers on GPUs: one per visible GPU by default, each pinned to its own."""
from __future__ import annotations

import multiprocessing as mp
import os
from types import SimpleNamespace

from bench.cli.run import worker_plan
from bench.execute.devices import CPU_WORKERS, default_workers, visible_gpus, worker_gpu
from bench.execute.workers import pool
from paretoslider.backbones.sd3 import SD3World

CUDA_WORLD = SimpleNamespace(uses_cuda=True)
CPU_WORLD = SimpleNamespace()  # shapes and gauss declare nothing


def test_workers_take_the_visible_gpus_in_turn():
    assert [worker_gpu(i, ["4", "6"]) for i in range(5)] == ["4", "6", "4", "6", "4"]
    assert worker_gpu(0, []) is None


def test_a_cuda_world_defaults_to_one_worker_per_gpu():
    assert default_workers(True, 8) == 8
    assert default_workers(True, 0) == CPU_WORKERS  # no GPU visible: as on the CPU
    assert default_workers(False, 8) == CPU_WORKERS


def test_visible_gpus_follow_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5, 7")
    assert visible_gpus() == ["2", "5", "7"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_gpus() == []


def test_worker_plan_of_cpu_and_cuda_worlds(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2")
    assert worker_plan(CPU_WORLD, None) == (CPU_WORKERS, [])  # no device set on the CPU
    assert worker_plan(CPU_WORLD, 1) == (1, [])
    assert worker_plan(CUDA_WORLD, None) == (3, ["0", "1", "2"])
    assert worker_plan(CUDA_WORLD, 1) == (1, ["0", "1", "2"])


def test_the_sd35_world_on_plain_cuda_takes_one_worker_per_gpu():
    assert SD3World().uses_cuda and SD3World(device="cuda").uses_cuda
    assert not SD3World(device="cpu").uses_cuda
    assert not SD3World(device="cuda:1").uses_cuda  # a GPU named by the user is kept


def _cuda_visible_devices_once_both_run(barrier) -> str | None:
    barrier.wait(timeout=120)  # both tasks at once: one per worker
    return os.environ.get("CUDA_VISIBLE_DEVICES")


def test_each_pool_worker_sees_only_its_own_gpu():
    with mp.get_context("spawn").Manager() as manager, pool(2, 1, gpus=["3", "5"]) as ex:
        barrier = manager.Barrier(2)
        futures = [ex.submit(_cuda_visible_devices_once_both_run, barrier) for _ in range(2)]
        assert sorted(f.result(timeout=240) for f in futures) == ["3", "5"]
