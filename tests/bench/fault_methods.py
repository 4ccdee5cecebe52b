"""Methods that fail in the middle of a run the way a machine does, for the integrity tests:
imported by `bench.run ... imports=[tests.bench.fault_methods]`. They train nothing."""
from __future__ import annotations

import errno
import os

from paretoslider.methods import METHODS, Method


class _NoTraining(Method):
    w_dependent = False

    def units(self, ctx):
        return []


@METHODS.register("fault_disk_full")
class DiskFull(_NoTraining):
    name = "fault_disk_full"

    def policy(self, ctx, trained, base, w):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "results/records.jsonl")


@METHODS.register("fault_worker_dies")
class WorkerDies(_NoTraining):
    name = "fault_worker_dies"

    def policy(self, ctx, trained, base, w):
        os._exit(137)  # as the kernel's OOM killer ends a process: no exception, no cleanup
