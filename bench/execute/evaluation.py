"""Evaluation of every (method, seed) on the suite's grid, one record per cell, in a pool
of worker processes: the trained units of a run are loaded as its policies read them
(`bench.execute.loaded_units`), cells already recorded are skipped."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.config.suite import Suite
from bench.execute.evaluate import (
    cell_scores,
    generate,
    score_images,
    strip_image,
    world_measures,
)
from bench.execute.jobs import (
    Paths,
    UnitGoneError,
    as_completed_reporting,
    cell_keys,
    cell_work,
    load_unit,
    method_units,
    read_done,
    unit_passes,
)
from bench.execute.loaded_units import LoadedUnits, grouped_by_units
from bench.execute.progress import drain, progress_queue
from bench.execute.workers import pool, reports
from bench.store import records as rec
from bench.store.cell_record import CellRecord
from bench.store.files import atomic_save
from bench.store.suite_dir import SuiteDir
from paretoslider.checkpoint import atomic_write_json
from paretoslider.methods import METHODS, Policy, Unit


def evaluate_run(suite: Suite, paths: Paths, method_name: str, seed: int, meta: dict) -> int:
    """Evaluate one (method, seed) on the whole grid at every checkpoint (the final weights
    first); returns the number of new records. Side files and strips: final weights only."""
    method = METHODS.get(method_name)()
    ctx = suite.context(seed)
    units = method_units(suite, method_name, seed)
    done = rec.done_keys(paths.records, suite.scorers()) if paths.records.exists() else set()
    todo = [c for c in cell_keys(suite, method_name, seed)
            if rec.record_key(method_name, seed, c[2], c[0]) not in done]
    if not todo:
        return 0
    summaries = [read_done(paths.unit_dir(u)) for u in units]
    gone = [u for u, done in zip(units, summaries, strict=True) if done is None]
    if gone:
        raise UnitGoneError(f"the trained run {gone[0].label} of {method_name} seed {seed} is "
                            f"no longer in the cache ({paths.unit_dir(gone[0])})")
    world = suite.build_world()
    base = world.base_model()
    spec = suite.eval_spec(seed)
    scorers = {name: world.reward(name) for name in suite.scorers()}
    ranges = {k: list(s.range) for k, s in scorers.items()}
    base_images = generate(Policy(base), spec, world.decode)
    # the base model's adherence on the same prompts and noise: the yardstick of every cell
    base_values = score_images(base_images, spec.rows(),
                               {k: scorers[k] for k in suite.adherence_scorers()})
    cost = _method_cost(summaries, paths, units)
    by_label = {u.label: u for u in units}
    for f in sorted({c[0] for c in todo}, reverse=True):
        trained = LoadedUnits(by_label, lambda label, f=f: load_unit(
            suite, world, by_label[label], paths.unit_dir(by_label[label]), f))
        at = {"checkpoint": f, "passes": sum(unit_passes(paths.unit_dir(u), f) for u in units),
              "eval_noise_seed": spec.noise_seed,
              **({"base_adherence": {k: float(np.mean(v)) for k, v in base_values.items()}}
                 if base_values else {})}
        needs = {i: method.units_at(ctx, _as_w(w)) for g, i, w in todo if g == f}
        for _, i, w in grouped_by_units([c for c in todo if c[0] == f], needs):
            needed = needs[i]
            if needed is not None:
                trained.keep_only(needed)
            policy = method.policy(ctx, trained, base, _as_w(w))
            images = generate(policy, spec, world.decode)
            values = score_images(images, spec.rows(), scorers)
            png = None
            if world.images and f == 1.0:
                png = SuiteDir.strip_name(method_name, seed, i)
                atomic_save(paths.suite_dir / png, strip_image(images, spec).save)
            if f == 1.0:
                _append_sample_values(SuiteDir(paths.suite_dir).sample_values(method_name, seed),
                                      w, values, suite, base_values)
            rec.append_record(paths.records, CellRecord.build(
                {**meta, **at, **world_measures(world, w, images, base_images, suite.objectives)},
                suite=suite.name, method=method.name, seed=int(seed), w=[float(x) for x in w],
                w_index=i, objectives=list(suite.objectives), heldout=list(suite.heldout),
                ranges=ranges, **cell_scores(suite, values, images, base_images, spec),
                w_dependent=method.w_dependent, strength=method.strength(suite.context(seed)),
                cost={**cost, "slider_change_cost": policy.switch_seconds},
                sample_png=None if png is None else str(png), ideal_box=suite.ideal_box or None
            ).to_dict())
            if reports() is not None:
                reports().put(((method_name, seed), cell_work(suite)))
            policy = None  # a dropped unit is freed before the next one loads
        trained.keep_only(())
    return len(todo)


def _as_w(w) -> tuple[float, ...]:
    return tuple(float(x) for x in w)


def _method_cost(summaries: list[dict], paths: Paths, units: list[Unit]) -> dict:
    keys = ("forward_passes", "backward_passes", "images", "optimizer_steps")
    cost = {k: sum(s["cost"][k] for s in summaries) for k in keys}
    cost["wall_s"] = sum(s["cost"]["wall_seconds"] for s in summaries)
    cost["models_trained"] = cost["checkpoints"] = len(units)
    cost["checkpoint_bytes"] = sum(s["cost"]["checkpoint_bytes"] for s in summaries)
    if any(s.get("declared") for s in summaries):  # not measured here: the tables say so
        cost["declared"] = True
    return cost


def _append_sample_values(path: Path, w, values: dict, suite: Suite, base: dict) -> None:
    """Per-image scores of a cell (replacing an earlier entry of the same w) and the base
    model's per-image adherence on the same rows."""
    side = json.loads(path.read_text()) if path.exists() else {}
    cells = [c for c in side.get("cells", []) if c["w"] != [float(x) for x in w]]
    judges = dict.fromkeys([*suite.heldout, *suite.adherence_scorers()])
    cells.append({"w": [float(x) for x in w],
                  "rewards": {k: values[k].tolist() for k in suite.objectives},
                  "judges": {k: values[k].tolist() for k in judges}})
    if base:
        side["base"] = {k: v.tolist() for k, v in base.items()}
    atomic_write_json(path, {**side, "cells": cells})


def run_evaluation(suite: Suite, paths: Paths, workers: int, threads: int, meta: dict,
                   progress=None, gpus: Sequence[str] = ()) -> int:
    """Evaluate every (method, seed); returns the number of newly recorded cells.
    `progress` (a tqdm bar) advances by the passes of each cell as it is recorded. With
    `gpus`, each worker evaluates on one of them."""
    jobs = [(m, s) for s in suite.seeds for m in suite.methods]
    new = 0
    queue = progress_queue()
    with pool(workers, threads, suite.imports, queue, gpus) as ex:
        futures = {ex.submit(evaluate_run, suite, paths, m, s, meta): (m, s) for m, s in jobs}
        reported: dict = {}
        for fut in as_completed_reporting(futures, queue, reported, progress):
            new += fut.result()
            drain(queue, reported, progress)
            if progress is not None:
                progress.update(max(fut.result() * cell_work(suite)
                                    - reported.get(futures[fut], 0), 0))
    rec.drop_superseded(paths.records)  # cells evaluated again for a scorer they lacked
    return new
