"""Evaluation loads a trained unit when a policy first reads it and, for a method whose
policy at w reads one unit, holds one at a time: same records, a fraction of the memory."""
from __future__ import annotations

import copy
import gc
import weakref

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from bench.cli.run import CONF
from bench.config.suite import load_suite
from bench.execute import evaluation, jobs
from bench.execute.loaded_units import LoadedUnits, grouped_by_units
from bench.store.records import read_records
from paretoslider.methods import METHODS


class Model:
    """Stands in for a trained transformer: only its lifetime matters here."""

    def __init__(self, label):
        self.label = label


def test_a_unit_loads_on_first_access_and_once():
    calls = []
    units = LoadedUnits(["a", "b"], lambda label: calls.append(label) or Model(label))
    assert calls == [] and len(units) == 2 and list(units) == ["a", "b"]
    assert units["b"].label == "b" and units["b"] is units["b"]
    assert calls == ["b"] and units.held == ("b",) and units.loads == 1
    with pytest.raises(KeyError):
        units["c"]
    assert calls == ["b"]  # an unknown label loads nothing


def test_keep_only_lets_go_of_the_others_and_a_dropped_unit_reloads():
    units = LoadedUnits(["a", "b"], Model)
    ref = weakref.ref(units["a"])
    units["b"]
    units.keep_only(["b"])
    gc.collect()
    assert units.held == ("b",) and ref() is None  # nothing else kept the model alive
    assert units["a"].label == "a" and units.loads == 3
    units.keep_only(())
    assert units.held == ()


def test_cells_are_grouped_by_the_units_they_read_in_first_seen_order():
    cells = [(1.0, i, w) for i, w in enumerate("xyzxwy")]
    reads = {"x": ("u1",), "y": ("u2",), "z": ("u1",), "w": ("u3",)}
    got = grouped_by_units(cells, {i: reads[w] for _, i, w in cells})
    assert [c[1] for c in got] == [0, 2, 3, 1, 5, 4]
    # a method that may read any unit keeps its cells in their order
    assert grouped_by_units(cells, {i: None for _, i, _ in cells}) == cells


def _suite(**change):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        raw = OmegaConf.to_container(compose("config", overrides=["suite=smoke"]).suite,
                                     resolve=True)
    return load_suite({**copy.deepcopy(raw), **change})


@pytest.mark.slow
def test_fixed_weights_are_evaluated_one_model_at_a_time_with_the_same_records(
        tmp_path, monkeypatch):
    suite = _suite(methods=["fixed_weight"], checkpoints=[0.5, 1.0],
                   fixed_grid=[[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]], grid={"n": 5})
    cache = tmp_path / "runs"
    for unit in jobs.method_units(suite, "fixed_weight", 0):
        paths = jobs.Paths(tmp_path / "lazy", cache)
        jobs.train_unit(suite, unit, paths.unit_dir(unit), tmp_path / "logs" / unit.label)

    alive: list[weakref.ref] = []
    most = []
    load = jobs.load_unit

    def counting_load(*args, **kwargs):
        gc.collect()
        most.append(sum(r() is not None for r in alive) + 1)  # held ones and this one
        model = load(*args, **kwargs)
        alive.append(weakref.ref(model))
        return model

    monkeypatch.setattr(evaluation, "load_unit", counting_load)
    lazy = jobs.Paths(tmp_path / "lazy", cache)
    assert evaluation.evaluate_run(suite, lazy, "fixed_weight", 0, {}) == 10
    assert len(most) == 6 and max(most) == 1  # 3 models x 2 checkpoints, one alive at a time

    # the same evaluation with every unit held at once, as a method that may read any
    monkeypatch.setattr(METHODS.get("fixed_weight"), "units_at", lambda self, ctx, w: None)
    held = jobs.Paths(tmp_path / "held", cache)
    assert evaluation.evaluate_run(suite, held, "fixed_weight", 0, {}) == 10

    def by_cell(path):
        return {(r["checkpoint"], tuple(r["w"])): r["rewards"] for r in read_records(path)}

    assert by_cell(lazy.records) == by_cell(held.records)
