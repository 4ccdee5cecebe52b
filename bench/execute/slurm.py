"""SLURM jobs (submitit): what a job asks for, and whether a sweep point fits in one.

A job asks for one GPU per worker (`gpus_per_node: ${job_gpus:${workers},N}` in
bench/conf/hydra/launcher/slurm_gpu.yaml; with `workers: null` bench.run starts one worker
per GPU the job was given). A job may run `timeout_min`, and is requeued from its
checkpoints at most `max_num_timeout` times, so a point has (1 + max_num_timeout) x
timeout_min of wall time. A point of a CUDA world whose estimate exceeds that is refused
before any training starts, with one line saying how to split it.
"""
from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

from omegaconf import OmegaConf


def job_gpus(workers: int | None, default: int) -> int:
    """The GPUs a job asks for: one per worker; `default` where the worker count is left
    to bench.run (which then starts one worker per GPU the job has)."""
    return int(default if workers is None else workers)


OmegaConf.register_new_resolver("job_gpus", job_gpus, replace=True)


class JobTooLongError(ValueError):
    """A sweep point cannot finish within its job's time limit and requeues."""


def job_limit_hours(launcher: Mapping) -> float | None:
    """The wall time a job has, its requeues included; None for a launcher without a time
    limit (the local ones)."""
    timeout = launcher.get("timeout_min")
    if not timeout:
        return None
    return timeout / 60 * (1 + int(launcher.get("max_num_timeout") or 0))


def launcher_settings() -> dict:
    """This job's launcher settings ({} outside Hydra)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return {}
    return OmegaConf.to_container(HydraConfig.get().launcher, resolve=True)


def makespan(hours: Sequence[float], workers: int) -> float:
    """Wall time of tasks handed out in order, each to the first free worker (as the pool
    does)."""
    free = [0.0] * max(workers, 1)
    for h in hours:
        heapq.heapreplace(free, free[0] + h)
    return max(free)


def check_job_limit(name: str, train_passes: Sequence[int], eval_passes: Sequence[int],
                    workers: int, passes_per_gpu_hour: float, limit_hours: float) -> float:
    """The estimated wall hours of a point: its training runs, then its evaluation jobs, on
    `workers` GPUs; JobTooLongError (one line) if they exceed `limit_hours`."""
    train = [p / passes_per_gpu_hour for p in train_passes]
    evaluation = [p / passes_per_gpu_hour for p in eval_passes]
    wall = makespan(train, workers) + makespan(evaluation, workers)
    if wall <= limit_hours:
        return wall
    gpu_hours = sum(train) + sum(evaluation)
    longest = max([*train, *evaluation], default=0.0)
    how = (f"one training run alone needs {longest:.0f} h: raise hydra.launcher.timeout_min "
           "or hydra.launcher.max_num_timeout" if longest > limit_hours else
           "split the point into smaller jobs (e.g. only_methods=[a],[b] or suite.seeds=[0],[1]"
           " in the sweep) or raise hydra.launcher.timeout_min")
    raise JobTooLongError(
        f"suite {name}: an estimated {gpu_hours:.0f} GPU-hours ({wall:.0f} h on {workers} "
        f"GPU(s), at {passes_per_gpu_hour:,.0f} passes per GPU-hour) exceed the job's limit of "
        f"{limit_hours:.0f} h (timeout_min x (1 + max_num_timeout)); {how}; nothing was started")
