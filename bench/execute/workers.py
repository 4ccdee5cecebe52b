"""The pool of worker processes, stopped with the main process however it ends.

Workers start with SIGINT blocked, so Ctrl-C reaches only the main process, which then
terminates them. A worker also dies with its parent: on Linux through the kernel's
parent-death signal, elsewhere through a thread that watches the parent's pid. Workers are
spawned, so each imports the suite's plug-in modules (`imports`) before its first task.
Given GPUs, each worker takes the next start index from a shared counter and keeps to the
GPU that index maps to (bench.execute.devices).
"""
from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


REPORTS = None  # in a worker: the queue its tasks report progress on (see bench.execute.progress)


def reports():
    """This worker's progress queue, or None (the main process, or a pool without one)."""
    return REPORTS


def _next_index(counter) -> int:
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    return index


def _init_worker(threads: int, parent: int, imports: tuple[str, ...] = (),
                 queue=None, gpus: tuple[str, ...] = (), counter=None) -> None:
    if gpus:  # before torch starts CUDA in this process
        from bench.execute.devices import pin_worker_gpu

        pin_worker_gpu(_next_index(counter), gpus)
    import torch

    global REPORTS
    REPORTS = queue

    from bench.config.plugins import import_modules
    from paretoslider.cli import one_line_warnings

    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    one_line_warnings()
    torch.set_num_threads(threads)
    import_modules(imports)  # registrations made in the main process do not reach a spawn


class _Executor(ProcessPoolExecutor):
    def submit(self, fn, /, *args, **kwargs):
        # processes are spawned here, on demand; a blocked mask is inherited through exec
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return super().submit(fn, *args, **kwargs)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def stop(ex: ProcessPoolExecutor) -> None:
    """Cancel what is queued and terminate the workers now, without waiting for their tasks."""
    processes = list((ex._processes or {}).values())  # no public handle on running tasks
    ex.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        proc.terminate()
    for proc in processes:
        proc.join(10)


@contextlib.contextmanager
def pool(workers: int, threads: int, imports: Sequence[str] = (), queue=None,
         gpus: Sequence[str] = ()) -> Iterator[ProcessPoolExecutor]:
    """A process pool (spawn: a fresh interpreter each, no inherited torch thread state)
    whose workers first import the modules `imports` and keep `queue` (a spawn context's
    Queue, given at start as only such a queue can be) for progress reports; with `gpus`
    each worker sees one of them; on any exception or interruption in the main process its
    workers are terminated."""
    ctx = mp.get_context("spawn")
    counter = ctx.Value("i", 0) if gpus else None
    ex = _Executor(workers, mp_context=ctx, initializer=_init_worker,
                   initargs=(threads, os.getpid(), tuple(imports), queue, tuple(gpus), counter))
    try:
        yield ex
    except BaseException:
        stop(ex)
        raise
    ex.shutdown(wait=True)
