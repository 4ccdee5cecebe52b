"""Every suite composes under Hydra and validates; bad suites fail with one clear line."""
import copy

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from bench.cli.run import CONF, known_suites
from bench.config.suite import SuiteError, load_suite


def composed(name: str) -> dict:
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("config", overrides=[f"suite={name}"])
    return OmegaConf.to_container(cfg.suite, resolve=True)


@pytest.mark.parametrize("name", known_suites())
def test_every_suite_composes_and_validates(name):
    raw = composed(name)
    if "parts" in raw:  # a composite: every part, with the overrides, is a valid suite
        from bench.cli.run import compose_part

        parts = [load_suite(compose_part(p, raw.get("overrides", {}))) for p in raw["parts"]]
        assert len({p.name for p in parts}) == len(parts)  # each part has its own folder
        return
    suite = load_suite(raw)
    assert suite.name == name and len(suite.ref_point) == suite.M
    assert len(suite.eval_ws()) >= 3


def _bad(**change) -> dict:
    raw = copy.deepcopy(composed("smoke"))
    for key, value in change.items():
        raw[key] = value
    return raw


@pytest.mark.parametrize(
    "change, message",
    [
        ({"methods": ["paretoslider", "nope"]}, "unknown method 'nope'; known: .*fixed_weight"),
        ({"objectives": ["photo", "loudness"]}, "unknown reward 'loudness'.*known: .*sketch"),
        ({"ref_point": [0.0]}, "ref_point has 1 entries for 2 objectives"),
        ({"fixed_grid": [[0.7, 0.7]]}, "fixed_grid: .*sum"),
        ({"fixed_grid": [[1.5, -0.5]]}, "fixed_grid: .*"),
        ({"fixed_grid": [[float("nan"), 1.0]]}, "fixed_grid: .*"),
        ({"budget": {"passes": 0}}, "budget.passes must be > 0"),
        ({"world": "mars"}, "unknown world 'mars'"),
        ({"heldout": ["photo_heldout"]}, "heldout has 1 judges for 2 objectives"),
        ({"objectives": ["photo"], "heldout": ["photo_heldout"], "ref_point": [0]},
         "at least 2 objectives"),
        ({"colour": "red"}, "unknown suite keys"),
        ({"budget": {"passes": "lots"}}, "budget.passes must be > 0 .an integer., got 'lots'"),
        ({"seeds": [0, 0]}, r"seeds must be distinct integers >= 0, got \[0, 0\]"),
        ({"seeds": [-1]}, "seeds must be distinct integers >= 0"),
        ({"seeds": ["abc"]}, "seeds must be distinct integers >= 0"),
        ({"grid": {"n": 0}}, "grid.n must be an integer >= 2, got 0"),
        ({"eval": {"samples_per_prompt": 0, "steps": 4, "noise_seed": 7}},
         "eval.samples_per_prompt and eval.steps must be integers >= 1, got 0 and 4"),
        ({"eval": {"samples": 2}}, "eval: .*unexpected keyword argument 'samples'"),
        ({"trainer": {"lr": -1.0}}, "trainer: lr must be > 0, got -1.0"),
        ({"trainer": {"lr": "abc"}}, "trainer: lr must be a number, got 'abc'"),
        ({"trainer": {"K": 2.5}}, "trainer: K must be an integer, got 2.5"),
    ],
)
def test_bad_suites_are_refused_with_one_line(change, message):
    with pytest.raises(SuiteError, match=message) as info:
        load_suite(_bad(**change))
    assert "\n" not in str(info.value)


def test_an_unwritable_results_directory_is_refused(tmp_path):
    from bench.config.suite import check_writable

    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(SuiteError, match="not writable"):
        check_writable(blocker / "results")


def test_records_of_another_configuration_are_refused(tmp_path):
    from bench.config.suite import check_same_config
    from bench.store.records import append_record
    from tests.bench.conftest import make_record

    records = tmp_path / "records.jsonl"
    check_same_config(records, "aaaa")  # no records yet
    append_record(records, {**make_record("m", 0, [1.0, 0.0], [0.5, 0.5], [0.5, 0.5]),
                            "config_hash": "aaaa"})
    check_same_config(records, "aaaa")
    with pytest.raises(SuiteError, match="another configuration or base model"):
        check_same_config(records, "bbbb")
    # a line of another schema in the middle is named, with the remedy that keeps the rest
    append_record(records, {"method": "m", "seed": 0, "w": [1.0, 0.0], "config_hash": "aaaa"})
    append_record(records, {**make_record("m", 0, [0.0, 1.0], [0.5, 0.5], [0.5, 0.5]),
                            "config_hash": "aaaa"})
    with pytest.raises(SuiteError, match=r"line 2: not a cell record .* repair=true"):
        check_same_config(records, "aaaa")


def test_every_suite_key_is_known_to_the_settings_hint():
    from dataclasses import fields

    from bench.config.settings import SUITE_KEYS
    from bench.config.suite import Suite

    assert set(SUITE_KEYS) == {f.name for f in fields(Suite)}


def test_only_methods_skips_the_parts_of_a_composite_that_lack_them():
    from bench.cli.run import parts_to_run

    parts = [{"name": "a", "methods": ["paretoslider", "flow_multi"]},
             {"name": "a_scale_2", "methods": ["merging_cat"]}]
    assert parts_to_run(parts, None) == parts
    assert [p["name"] for p in parts_to_run(parts, ["flow_multi"])] == ["a"]
    assert [p["name"] for p in parts_to_run(parts, ["merging_cat"])] == ["a_scale_2"]


def test_only_seeds_restricts_the_run_but_not_the_configuration():
    raw = composed("smoke")
    raw["seeds"] = [0, 1, 2]
    assert load_suite(copy.deepcopy(raw), only_seeds=[2, 0]).seeds == [0, 2]
    assert load_suite(copy.deepcopy(raw)).seeds == [0, 1, 2]
    with pytest.raises(SuiteError, match=r"only_seeds \[5\] are not among"):
        load_suite(copy.deepcopy(raw), only_seeds=[5])
