"""Which GPU each worker process of `bench.run` uses, and how many workers a run starts.

A world that runs on CUDA (its `uses_cuda` is true: SD3.5) gets one worker per visible GPU
by default, and each worker sees only its own GPU through CUDA_VISIBLE_DEVICES, so the
plain "cuda" that the model and the reward models load on is that GPU. Every other world
(shapes, gauss) runs on the CPU with the configured default and no device set.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

CPU_WORKERS = 2  # the default worker count of a CPU world


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES names them (indices or
    UUIDs); [] without CUDA."""
    names = os.environ.get("CUDA_VISIBLE_DEVICES")
    if names is not None:
        return [n.strip() for n in names.split(",") if n.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def world_uses_cuda(world) -> bool:
    return bool(getattr(world, "uses_cuda", False))


def default_workers(uses_cuda: bool, gpus: int) -> int:
    """One worker per visible GPU for a CUDA world; otherwise the CPU default."""
    return gpus if uses_cuda and gpus > 0 else CPU_WORKERS


def worker_gpu(index: int, gpus: Sequence[str]) -> str | None:
    """The GPU of the index-th worker started (0, 1, ...): the visible GPUs in turn, so two
    workers share one only when there are more workers than GPUs; None without GPUs."""
    return gpus[index % len(gpus)] if gpus else None


def pin_worker_gpu(index: int, gpus: Sequence[str]) -> str | None:
    """Show this process only its own GPU (before CUDA starts in it); returns that GPU."""
    gpu = worker_gpu(index, gpus)
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    return gpu
