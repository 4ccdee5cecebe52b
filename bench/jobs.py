"""Training units and evaluation cells, run in a pool of worker processes.

A unit's folder (under the cache) holds the trainer's rolling checkpoint and, once the run
has finished, `done.json` with its cost. A killed run resumes from its last checkpoint; a
finished one is never retrained. Evaluation appends one record per (method, seed, w) and
skips cells already recorded.
"""
from __future__ import annotations

import copy
import json
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bench import records as rec
from bench.evaluate import EvalSpec, diversity, drift, generate, score_images, strip_image
from bench.suite import Suite
from paretoslider.checkpoint import atomic_write_json
from paretoslider.methods import METHODS, Policy, Unit
from paretoslider.trainer import Trainer, train


@dataclass
class Paths:
    suite_dir: Path
    runs_dir: Path

    @property
    def records(self) -> Path:
        return self.suite_dir / "records.jsonl"

    def unit_dir(self, unit: Unit) -> Path:
        return self.runs_dir / unit.key()


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


def pool(workers: int, threads: int) -> ProcessPoolExecutor:
    # spawn: a fresh interpreter per worker, so no torch thread pool state is inherited
    return ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                               initializer=_init_worker, initargs=(threads,))


# ---------------------------------------------------------------- training
def train_unit(suite: Suite, unit: Unit, unit_dir: Path, log_path: Path) -> dict:
    """Train one unit to completion (resuming if a checkpoint exists); returns its cost."""
    done = unit_dir / "done.json"
    if done.exists():
        return json.loads(done.read_text())
    world = suite.build_world()
    rewards = [world.reward(name) for name in unit.objectives]
    cfg = copy.copy(unit.cfg)
    cfg.progress = False
    trainer = train(world.base_model(), rewards, suite.prompts, cfg, decode=world.decode,
                    checkpoint_dir=unit_dir / "ckpt")
    if trainer.cost.passes == 0:
        raise RuntimeError(f"unit {unit.label}: the budget is too small for one epoch "
                           f"({trainer.epoch_passes()} passes)")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"epoch": h["epoch"], "rewards": h["reward_mean"]}) for h in trainer.history]
    log_path.write_text("\n".join(lines) + "\n")
    summary = {"label": unit.label, "epochs": trainer.epoch, "cost": trainer.cost.to_dict()}
    atomic_write_json(done, summary)
    return summary


def load_unit(suite: Suite, world, unit: Unit, unit_dir: Path):
    """The trained policy of a finished unit (rebuilt from the base model + its checkpoint)."""
    rewards = [world.reward(name) for name in unit.objectives]
    cfg = copy.copy(unit.cfg)
    cfg.progress = False
    trainer = Trainer(world.base_model(), rewards, suite.prompts, cfg, decode=world.decode)
    trainer.load(unit_dir / "ckpt")
    return trainer.policy.eval()


def plan_units(suite: Suite, records: Path | None = None) -> dict[tuple[str, int], list[Unit]]:
    """Units per (method, seed), leaving out runs whose every cell is already recorded."""
    done = rec.done_keys(records) if records is not None and records.exists() else set()
    grid = suite.eval_ws()
    return {(m, seed): METHODS.get(m)().units(suite.context(seed))
            for seed in suite.seeds for m in suite.methods
            if any(rec.record_key(m, seed, w) not in done for w in grid)}


def run_training(suite: Suite, paths: Paths, workers: int, threads: int, say=print) -> None:
    units = {u.key(): u for us in plan_units(suite, paths.records).values() for u in us}
    todo = {k: u for k, u in units.items() if not (paths.unit_dir(u) / "done.json").exists()}
    say(f"training: {len(units)} distinct runs, {len(units) - len(todo)} already finished")
    if not todo:
        return
    start = time.perf_counter()
    with pool(workers, threads) as ex:
        futures = {ex.submit(train_unit, suite, u, paths.unit_dir(u),
                             paths.suite_dir / "train_logs" / f"{u.label}_seed{u.cfg.seed}.jsonl"): u
                   for u in todo.values()}
        for i, fut in enumerate(as_completed(futures), 1):
            u, s = futures[fut], fut.result()
            c = s["cost"]
            say(f"  [{i}/{len(todo)}] {u.label} seed {u.cfg.seed}: {s['epochs']} epochs, "
                f"{c['images']} images, {c['wall_seconds']:.0f} s "
                f"(elapsed {time.perf_counter() - start:.0f} s)")


# ---------------------------------------------------------------- evaluation
def evaluate_run(suite: Suite, paths: Paths, method_name: str, seed: int, meta: dict) -> int:
    """Evaluate one (method, seed) on the whole grid; returns the number of new records."""
    method = METHODS.get(method_name)()
    ctx = suite.context(seed)
    units = method.units(ctx)
    grid = suite.eval_ws()
    done = rec.done_keys(paths.records) if paths.records.exists() else set()
    todo = [(i, w) for i, w in enumerate(grid) if rec.record_key(method_name, seed, w) not in done]
    if not todo:
        return 0
    world = suite.build_world()
    trained = {u.label: load_unit(suite, world, u, paths.unit_dir(u)) for u in units}
    summaries = [json.loads((paths.unit_dir(u) / "done.json").read_text()) for u in units]
    base = world.base_model()
    spec = EvalSpec(suite.prompts, **suite.eval)
    scorers = {name: world.reward(name) for name in suite.scorers()}
    base_images = generate(Policy(base), spec, world.decode)
    cost = _method_cost(summaries, paths, units)
    for i, w in todo:
        policy = method.policy(ctx, trained, base, tuple(float(x) for x in w))
        images = generate(policy, spec, world.decode)
        values = score_images(images, spec.rows(), scorers)
        png = Path("samples") / method_name / f"seed{seed}_w{i}.png" if world.images else None
        if png is not None:
            (paths.suite_dir / png).parent.mkdir(parents=True, exist_ok=True)
            strip_image(images, spec).save(paths.suite_dir / png)
        _append_sample_values(paths.suite_dir / "samples" / method_name / f"seed{seed}.json", w, values, suite)
        rec.append_record(paths.records, _record(suite, method, seed, w, i, values, images,
                                                 base_images, spec, cost, policy, png, meta,
                                                 {k: list(s.range) for k, s in scorers.items()}))
    return len(todo)


def _method_cost(summaries: list[dict], paths: Paths, units: list[Unit]) -> dict:
    keys = ("forward_passes", "backward_passes", "images", "optimizer_steps")
    cost = {k: sum(s["cost"][k] for s in summaries) for k in keys}
    cost["wall_s"] = sum(s["cost"]["wall_seconds"] for s in summaries)
    cost["models_trained"] = cost["checkpoints"] = len(units)
    cost["checkpoint_bytes"] = sum(s["cost"]["checkpoint_bytes"] for s in summaries)
    return cost


def _append_sample_values(path: Path, w, values: dict, suite: Suite) -> None:
    cells = json.loads(path.read_text())["cells"] if path.exists() else []
    cells.append({"w": [float(x) for x in w],
                  "rewards": {k: values[k].tolist() for k in suite.objectives},
                  "judges": {k: values[k].tolist() for k in suite.heldout}})
    atomic_write_json(path, {"cells": cells})


def _record(suite, method, seed, w, i, values, images, base_images, spec, cost, policy, png, meta,
            ranges):
    means = {k: float(np.mean(v)) for k, v in values.items()}
    judges = [*suite.heldout] + ([suite.adherence] if suite.adherence else [])
    return {
        "suite": suite.name, "method": method.name, "seed": int(seed),
        "w": [float(x) for x in w], "w_index": i,
        "objectives": list(suite.objectives), "heldout": list(suite.heldout), "ranges": ranges,
        "rewards": {k: means[k] for k in suite.objectives},
        "judges": {k: means[k] for k in judges},
        "quality": {"adherence": means.get(suite.adherence) if suite.adherence else None,
                    "diversity": diversity(images, spec), "drift": drift(images, base_images)},
        "w_dependent": method.w_dependent,
        "cost": {**cost, "slider_change_cost": policy.switch_seconds},
        "sample_png": None if png is None else str(png), **meta,
    }


def run_evaluation(suite: Suite, paths: Paths, workers: int, threads: int, meta: dict,
                   say=print) -> int:
    """Evaluate every (method, seed); returns the number of newly recorded cells."""
    jobs = [(m, s) for s in suite.seeds for m in suite.methods]
    new = 0
    with pool(workers, threads) as ex:
        futures = {ex.submit(evaluate_run, suite, paths, m, s, meta): (m, s) for m, s in jobs}
        for i, fut in enumerate(as_completed(futures), 1):
            m, s = futures[fut]
            new += fut.result()
            say(f"  [{i}/{len(jobs)}] evaluated {m} seed {s}: {fut.result()} new cells")
    return new
