"""Adherence at the worst w and below the base model: known answers, tables, figures, and a
rerun that adds a new adherence scorer to recorded cells without retraining."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from bench.cli.run import CONF
from bench.config.suite import SuiteError, load_suite
from bench.execute import evaluation, jobs
from bench.metrics.resample import BELOW_BASE_MARGIN, adherence_columns
from bench.report.aggregate import analyse, leaderboard
from bench.report.figures import adherence_drop, below_base_cells
from bench.report.tables import write_tables
from bench.store.records import (
    append_record,
    config_hash,
    done_keys,
    drop_superseded,
    read_records,
    record_key,
)

WS = [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]]
# per w: (classifier, silhouette) per image; the base's rows are 0.9 and 0.9 on both
IMAGES = {"adherence_heldout": [[0.9, 1.0], [0.8, 0.9], [0.6, 0.7]],
          "adherence_shape": [[1.0, 1.0], [0.9, 0.8], [0.9, 0.9]]}
BASE = {"adherence_heldout": [0.9, 0.9], "adherence_shape": [0.9, 0.9]}


def make_record(w: list[float]) -> dict:
    """A final cell of paretoslider, seed 0, with rewards and held-out judges equal to w."""
    names, held = ["photo", "sketch"], ["photo_heldout", "sketch_heldout"]
    return {"suite": "two_obj", "method": "paretoslider", "seed": 0, "w": list(w),
            "objectives": names, "heldout": held,
            "ranges": {k: [0.0, 1.0] for k in (*names, *held)},
            "rewards": dict(zip(names, w, strict=True)),
            "judges": dict(zip(held, w, strict=True)),
            "quality": {"adherence": 0.9, "diversity": 0.1, "drift": 0.05},
            "w_dependent": True, "cost": {"forward_passes": 10, "backward_passes": 5}}


def adherence_suite(tmp_path, side: bool = True):
    """paretoslider, one seed, three w; adherence means per w: classifier 0.95 / 0.85 / 0.65,
    silhouette 1.0 / 0.85 / 0.9; the base 0.9 on both."""
    suite = tmp_path / "two_obj"
    cells = []
    for i, w in enumerate(WS):
        rec = make_record(w)
        per = {k: v[i] for k, v in IMAGES.items()}
        rec["judges"].update({k: float(np.mean(v)) for k, v in per.items()})
        rec["base_adherence"] = {k: float(np.mean(v)) for k, v in BASE.items()}
        append_record(suite / "records.jsonl", rec)
        cells.append({"w": w, "rewards": {"photo": [w[0]] * 2, "sketch": [w[1]] * 2},
                      "judges": {"photo_heldout": [w[0]] * 2, "sketch_heldout": [w[1]] * 2,
                                 **per}})
    if side:
        path = suite / "samples" / "paretoslider" / "seed0.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"cells": cells, "base": BASE}))
    return suite


def test_mean_worst_and_share_below_the_base_per_scorer(tmp_path):
    suite = adherence_suite(tmp_path)
    found = analyse(read_records(suite / "records.jsonl"), suite, resamples=200)
    row = found.per_run.iloc[0]
    assert row["adherence:adherence_heldout"] == pytest.approx((0.95 + 0.85 + 0.65) / 3)
    assert row["adherence_worst:adherence_heldout"] == pytest.approx(0.65)
    assert row["adherence_worst:adherence_shape"] == pytest.approx(0.85)
    # below 0.9 - 0.05: the classifier's 0.65 only; the silhouette's 0.85 is not below 0.85
    assert row["below_base:adherence_heldout"] == pytest.approx(1 / 3)
    assert row["below_base:adherence_shape"] == pytest.approx(0.0)
    assert row["base_adherence:adherence_shape"] == pytest.approx(0.9)
    draws = found.replicates["paretoslider"]["adherence_worst:adherence_heldout"]
    assert draws.shape == (1, 200) and draws.min() >= 0.6 and draws.max() <= 0.7
    board = leaderboard(found.per_run, found.replicates, found.ref)
    low, high = (board.at[0, f"below_base:adherence_heldout{s}"] for s in ("_ci_low", "_ci_high"))
    assert 0.0 <= low <= 1 / 3 <= high <= 1.0  # clipped to the share's range


def test_records_without_a_base_or_side_values_give_seed_only_numbers(tmp_path):
    suite = adherence_suite(tmp_path, side=False)
    records = read_records(suite / "records.jsonl")
    for r in records:
        del r["base_adherence"]
    row = analyse(records, suite, resamples=50).per_run.iloc[0]
    assert row["adherence_worst:adherence_heldout"] == pytest.approx(0.65)
    assert row["below_base:adherence_heldout"] is None  # no base: n/a
    assert adherence_columns(["hv", "adherence", "below_base:x", "below_base:"]) == [
        "below_base:x"]


def test_the_leaderboard_shows_worst_w_and_below_base_beside_mean_adherence(tmp_path):
    suite = adherence_suite(tmp_path)
    found = analyse(read_records(suite / "records.jsonl"), suite, resamples=50)
    write_tables(leaderboard(found.per_run, found.replicates, found.ref), tmp_path / "out")
    text = (tmp_path / "out" / "leaderboard.md").read_text()
    head = text.split("## Headline")[1].split("\n\n")[2]  # the table
    assert ("| Adherence | Worst w (classifier) | Below base (classifier) | Worst w "
            "(silhouette) | Below base (silhouette) | Passes |") in head
    assert "| 0.650 [" in head and "## Prompt adherence (held-out scorers)" in text
    csv = (tmp_path / "out" / "leaderboard.csv").read_text().splitlines()[0]
    assert "adherence_worst:adherence_shape_ci_low" in csv


def test_cells_below_the_base_are_found_for_the_figures(tmp_path):
    records = read_records(adherence_suite(tmp_path) / "records.jsonl")
    assert adherence_drop(records[2]) == pytest.approx(0.9 - 0.65)
    assert adherence_drop({"judges": {"a": 0.5}}) is None
    assert below_base_cells(records) == {("paretoslider", (1.0, 0.0))}
    assert BELOW_BASE_MARGIN == 0.05


def test_a_cell_lacking_a_scorer_is_not_done_and_its_new_record_supersedes_it(tmp_path):
    path = tmp_path / "records.jsonl"
    old = {"method": "m", "seed": 0, "w": [1.0, 0.0], "rewards": {"a": 1.0},
           "judges": {"b": 0.5}}
    append_record(path, old)
    append_record(path, {**old, "w": [0.0, 1.0], "judges": {"b": 0.5, "c": 0.7}})
    assert done_keys(path) == {record_key("m", 0, [1.0, 0.0]), record_key("m", 0, [0.0, 1.0])}
    assert done_keys(path, ["a", "b", "c"]) == {record_key("m", 0, [0.0, 1.0])}
    append_record(path, {**old, "judges": {"b": 0.5, "c": 0.1}})
    assert drop_superseded(path) == 1 and drop_superseded(path) == 0
    kept = read_records(path, strict=True)
    assert [(r["w"], r["judges"].get("c")) for r in kept] == [([0.0, 1.0], 0.7), ([1.0, 0.0], 0.1)]


def test_adding_adherence_scorers_keeps_the_configuration_hash():
    raw = {"name": "s", "adherence": "adherence_heldout", "seeds": [0]}
    assert config_hash({**raw, "adherence_extra": ["adherence_shape"]}) == config_hash(raw)
    assert config_hash({**raw, "adherence": "adherence_shape"}) != config_hash(raw)


def _smoke(**change):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        raw = OmegaConf.to_container(compose("config", overrides=["suite=smoke"]).suite,
                                     resolve=True)
    return load_suite({**copy.deepcopy(raw), **change})


def test_adherence_scorers_are_evaluated_and_never_trained_on():
    suite = _smoke()
    assert suite.adherence_scorers() == ["adherence_heldout", "adherence_shape"]
    assert suite.scorers()[-2:] == ["adherence_heldout", "adherence_shape"]
    with pytest.raises(SuiteError, match="'adherence_shape' is also an objective"):
        _smoke(objectives=["photo", "adherence_shape"])
    with pytest.raises(SuiteError, match="adherence_extra must be a list"):
        _smoke(adherence_extra="adherence_shape")


@pytest.mark.slow
def test_a_rerun_adds_a_new_scorer_to_recorded_cells_without_training(tmp_path):
    before = _smoke(methods=["paretoslider"], adherence_extra=[])
    after = _smoke(methods=["paretoslider"])
    paths = jobs.Paths(tmp_path / "smoke", tmp_path / "runs")
    for unit in {u.key(): u for us in jobs.plan_units(before).values() for u in us}.values():
        jobs.train_unit(before, unit, paths.unit_dir(unit), tmp_path / "logs" / unit.label)
    assert evaluation.evaluate_run(before, paths, "paretoslider", 0, {}) == 3
    old = read_records(paths.records)
    assert jobs.cells_todo(before, paths.records) == 0
    assert jobs.cells_todo(after, paths.records) == 3  # they lack adherence_shape
    assert jobs.training_todo(after, paths) == (1, {})  # the trained unit is found: no training
    assert evaluation.evaluate_run(after, paths, "paretoslider", 0, {}) == 3
    assert drop_superseded(paths.records) == 3
    new = read_records(paths.records)
    assert len(new) == 3 and jobs.cells_todo(after, paths.records) == 0
    for a, b in zip(old, new, strict=True):  # the same images: every old value is kept
        assert (a["rewards"], a["quality"]) == (b["rewards"], b["quality"])
        assert b["judges"] == {**a["judges"], "adherence_shape": b["judges"]["adherence_shape"]}
        assert set(b["base_adherence"]) == {"adherence_heldout", "adherence_shape"}
    side = json.loads((paths.suite_dir / "samples" / "paretoslider" / "seed0.json").read_text())
    assert len(side["cells"]) == 3 and len(side["base"]["adherence_shape"]) == 4
    assert all(len(c["judges"]["adherence_shape"]) == 4 for c in side["cells"])
