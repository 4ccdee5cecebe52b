"""The clock for a slider change's cost (building a merge or a soup at a new w).

CUDA runs kernels asynchronously: a clock read right after a merge on a GPU times only the
launch of its kernels. The clock therefore waits for the model's device first; on the CPU,
where work is done when the call returns, it reads the time at once.
"""
from __future__ import annotations

import time

import torch


def device_of(model: torch.nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return torch.device("cpu") if param is None else param.device


def clock(device: torch.device) -> float:
    """time.perf_counter() once the work queued on `device` has finished."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()
