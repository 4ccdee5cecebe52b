"""Training units, run in a pool of worker processes, and the plan of evaluation cells
(evaluating them: `bench.execute.evaluation`).

A unit's folder (under the cache) holds the trainer's rolling checkpoint and, once the run
has finished, `done.json` with its cost. A killed run resumes from its last checkpoint; a
finished one is never retrained. A unit may bring its own trainer (`make_trainer`: a custom
loss); an external unit trains nothing and declares its cost.
"""
from __future__ import annotations

import copy
import json
import shutil
import warnings
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from baselines.external import ExternalUnit
from bench.config.suite import Suite
from bench.execute.progress import drain, progress_queue
from bench.execute.workers import pool, reports
from bench.store import records as rec
from bench.store.files import atomic_text
from bench.store.locks import unit_lock
from bench.store.suite_dir import SuiteDir
from paretoslider.checkpoint import (
    CorruptCheckpointError,
    atomic_write_json,
    has_checkpoint,
    load_snapshot,
)
from paretoslider.methods import METHODS, Unit
from paretoslider.trainer import Trainer
from paretoslider.trainer.loop import snapshot_path


class UnitGoneError(RuntimeError):
    """A finished training run's folder disappeared before its evaluation."""


PROMPTS_FILE = "prompts.json"  # the training prompts a unit's folder was trained on


@dataclass
class Paths:
    suite_dir: Path
    runs_dir: Path
    prompts: list[str] | None = None  # the suite's training prompts

    @property
    def records(self) -> Path:
        return SuiteDir(self.suite_dir).records

    def unit_dir(self, unit: Unit) -> Path:
        """The unit's folder: named by its key; a unit of the same key trained on other
        prompts (its prompts.json says so) lives beside it, the prompts' digest appended.
        The keys of units trained before prompts were recorded are kept as they are."""
        plain = self.runs_dir / unit.key()
        marker = plain / PROMPTS_FILE
        if self.prompts is None or not marker.is_file():
            return plain
        try:
            same = json.loads(marker.read_text()) == list(self.prompts)
        except (OSError, ValueError):
            same = False
        return plain if same else self.runs_dir / f"{unit.key()}-p{prompts_digest(self.prompts)}"


def prompts_digest(prompts: list[str]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(list(prompts)).encode()).hexdigest()[:8]


def read_done(unit_dir: Path) -> dict | None:
    """A finished unit's summary; None if unfinished or if done.json is unreadable (the unit
    is then trained again from its checkpoint, with a warning)."""
    done = unit_dir / "done.json"
    if not done.exists():
        return None
    try:
        summary = json.loads(done.read_text())
        if isinstance(summary, dict) and isinstance(summary.get("cost"), dict):
            return summary
    except (ValueError, UnicodeDecodeError):
        pass
    warnings.warn(f"{done} is unreadable: treating its unit as unfinished", stacklevel=2)
    done.unlink()
    return None


# ---------------------------------------------------------------- training
def make_trainer(suite: Suite, world, unit: Unit) -> Trainer:
    """A fresh trainer of the unit on the world's base model: the unit's own kind
    (`unit.make_trainer`, e.g. a custom loss) or the built-in one."""
    rewards = [world.reward(name) for name in unit.objectives]
    cfg = copy.copy(unit.cfg)
    cfg.progress = False
    make = getattr(unit, "make_trainer", None) or Trainer
    return make(world.base_model(), rewards, suite.prompts, cfg, decode=world.decode,
                snapshots=unit.snapshots)


def _train(suite: Suite, world, unit: Unit, ckpt_dir: Path, on_epoch=None) -> Trainer:
    trainer = make_trainer(suite, world, unit)
    free_text_encoders(trainer.state.policy, suite.prompts)
    if has_checkpoint(ckpt_dir):
        trainer.load(ckpt_dir)
    trainer.train(checkpoint_dir=ckpt_dir, on_epoch=on_epoch)
    return trainer


def free_text_encoders(backbone, prompts) -> None:
    """Cache every training prompt's embedding, then free the text encoders (SD3.5's are
    ~10 GB): the training world is this unit's own, its evaluation builds another."""
    if hasattr(backbone, "release_text_encoders"):
        backbone.encode_prompts(list(prompts))
        backbone.release_text_encoders()


def train_unit(suite: Suite, unit: Unit, unit_dir: Path, log_path: Path) -> dict:
    """Train one unit to completion (resuming if a checkpoint exists); returns its cost. A
    unit another process is training (another results folder sharing the cache) is waited
    for, then found finished. In a pool with a progress queue, each epoch reports
    (unit key, passes) on it."""
    queue = reports()
    report = None if queue is None else (lambda n: queue.put((unit.key(), n)))
    with unit_lock(unit_dir):
        return _train_unit(suite, unit, unit_dir, log_path, report)


def _train_unit(suite: Suite, unit: Unit, unit_dir: Path, log_path: Path,
                report=None) -> dict:
    done = unit_dir / "done.json"
    summary = read_done(unit_dir)
    if summary is not None:
        return summary
    if isinstance(unit, ExternalUnit):  # trained elsewhere: its declared cost, nothing to run
        summary = unit.summary()
        atomic_write_json(done, summary)
        return summary
    marker = unit_dir / PROMPTS_FILE
    if not marker.is_file():
        atomic_write_json(marker, list(suite.prompts))
    world = suite.build_world()
    cfg = unit.cfg
    try:
        trainer = _train(suite, world, unit, unit_dir / "ckpt", report)
    except CorruptCheckpointError as exc:
        warnings.warn(f"unit {unit.label} seed {cfg.seed}: {exc}; no readable checkpoint is "
                      "left, so the unit restarts from the beginning", stacklevel=1)
        shutil.rmtree(unit_dir / "ckpt")
        trainer = _train(suite, world, unit, unit_dir / "ckpt", report)
    if trainer.cost.passes == 0:
        raise RuntimeError(f"unit {unit.label}: the budget is too small for one epoch "
                           f"({trainer.epoch_passes()} passes)")
    missing = [f for f in unit.snapshots
               if f < 1.0 and not snapshot_path(unit_dir / "ckpt", f).exists()]
    if missing:
        raise RuntimeError(f"unit {unit.label}: training ended after trainer.epochs = "
                           f"{cfg.epochs} before checkpoints {missing} of its budget; raise "
                           "trainer.epochs")
    lines = [json.dumps({"epoch": h["epoch"], "rewards": h["reward_mean"]}) for h in trainer.history]
    atomic_text(log_path, "\n".join(lines) + "\n")
    summary = {"label": unit.label, "epochs": trainer.epoch, "cost": trainer.cost.to_dict()}
    atomic_write_json(done, summary)
    return summary


def load_unit(suite: Suite, world, unit: Unit, unit_dir: Path, checkpoint: float = 1.0):
    """The trained policy of a finished unit (rebuilt from the base model + its checkpoint),
    or its weights at an earlier budget fraction (`checkpoint`, one of unit.snapshots)."""
    if isinstance(unit, ExternalUnit):
        return unit.load_model(world)
    trainer = make_trainer(suite, world, unit)
    try:
        trainer.load(unit_dir / "ckpt")
    except CorruptCheckpointError as exc:
        warnings.warn(f"{exc}; no readable checkpoint is left, so unit {unit.label} seed "
                      f"{unit.cfg.seed} is trained again", stacklevel=1)
        shutil.rmtree(unit_dir / "ckpt")
        trainer = make_trainer(suite, world, unit)
    # after a fall back to the previous checkpoint (or none), train the missing epochs again
    # (training is deterministic); a readable final checkpoint trains nothing here
    trainer.train(checkpoint_dir=unit_dir / "ckpt")
    if checkpoint < 1.0:
        trainer.load_snapshot(unit_dir / "ckpt", checkpoint)
    return trainer.policy.eval()


def unit_passes(unit_dir: Path, checkpoint: float) -> int:
    """A finished unit's passes at a budget fraction (its snapshot's, or all of them)."""
    if checkpoint >= 1.0:
        return int(read_done(unit_dir)["cost"]["passes"])
    return int(load_snapshot(snapshot_path(unit_dir / "ckpt", checkpoint))[1]["passes"])


def method_units(suite: Suite, method: str, seed: int) -> list[Unit]:
    """The method's units, kept at the suite's checkpoint fractions."""
    units = METHODS.get(method)().units(suite.context(seed))
    return [replace(u, snapshots=tuple(sorted(float(f) for f in suite.checkpoints)))
            for u in units]


def cell_keys(suite: Suite, method: str, seed: int) -> list[tuple[float, int, np.ndarray]]:
    """(checkpoint, w index, w) of every cell of one (method, seed); a method with an external
    unit has its final weights only."""
    external = any(isinstance(u, ExternalUnit) for u in method_units(suite, method, seed))
    fractions = [1.0] if external else suite.evaluated_checkpoints()
    return [(float(f), i, w) for f in fractions for i, w in enumerate(suite.eval_ws())]


def plan_units(suite: Suite, records: Path | None = None) -> dict[tuple[str, int], list[Unit]]:
    """Units per (method, seed), leaving out runs whose every cell is already recorded."""
    done = (rec.done_keys(records, suite.scorers()) if records is not None and records.exists()
            else set())
    return {(m, seed): method_units(suite, m, seed)
            for seed in suite.seeds for m in suite.methods
            if any(rec.record_key(m, seed, w, f) not in done for f, _, w in cell_keys(suite, m, seed))}


def training_todo(suite: Suite, paths: Paths) -> tuple[int, dict[str, Unit]]:
    """(distinct units the unrecorded cells need, those of them not finished yet)."""
    units = {u.key(): u for us in plan_units(suite, paths.records).values() for u in us}
    return len(units), {k: u for k, u in units.items() if read_done(paths.unit_dir(u)) is None}


def unit_work(suite: Suite, unit: Unit) -> int:
    """A unit's denoiser passes (its budget): the progress bar's measure of training work."""
    from paretoslider.trainer.update import epoch_passes

    if isinstance(unit, ExternalUnit):
        return 0
    if unit.cfg.budget_passes is not None:
        return int(unit.cfg.budget_passes)
    prompts = unit.cfg.prompts_per_epoch or len(suite.prompts)
    return unit.cfg.epochs * epoch_passes(unit.cfg, prompts)


def cell_work(suite: Suite) -> int:
    """Denoiser passes of one evaluation cell (images x sampling steps), in the same measure."""
    return len(suite.evaluation_prompts()) * suite.eval["samples_per_prompt"] * suite.eval["steps"]


def run_training(suite: Suite, paths: Paths, workers: int, threads: int, progress=None,
                 gpus: Sequence[str] = ()) -> None:
    """Train every unfinished unit; `progress` (a tqdm bar) advances by each epoch's passes
    as the workers report them, and by the rest of a unit's budget when it ends. With
    `gpus`, each worker trains on one of them."""
    _, todo = training_todo(suite, paths)
    if not todo:
        return
    queue = progress_queue()
    with pool(workers, threads, suite.imports, queue, gpus) as ex:
        futures = {ex.submit(train_unit, suite, u, paths.unit_dir(u),
                             SuiteDir(paths.suite_dir).train_log(u.label, u.cfg.seed)): u
                   for u in todo.values()}
        reported: dict[str, int] = {}
        for fut in as_completed_reporting(futures, queue, reported, progress):
            fut.result()
            drain(queue, reported, progress)
            unit = futures[fut]
            if progress is not None:  # a resumed unit's earlier epochs were never reported
                progress.update(max(unit_work(suite, unit) - reported.get(unit.key(), 0), 0))


def as_completed_reporting(futures, queue, reported: dict, bar, poll: float = 1.0):
    """The futures as they finish, moving progress reports onto `bar` meanwhile."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=poll, return_when=FIRST_COMPLETED)
        drain(queue, reported, bar)
        yield from done


def cells_todo(suite: Suite, records: Path) -> int:
    """Cells of the suite not recorded yet."""
    done = rec.done_keys(records, suite.scorers()) if records.exists() else set()
    return sum(rec.record_key(m, s, w, f) not in done for s in suite.seeds for m in suite.methods
               for f, _, w in cell_keys(suite, m, s))
