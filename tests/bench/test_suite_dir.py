"""The suite folder's layout, named once in SuiteDir, is where the readers look."""
from pathlib import Path

from bench.store.sidefiles import load_sample_values, load_train_logs, strip_paths
from bench.store.suite_dir import SuiteDir


def test_the_layout(tmp_path):
    d = SuiteDir(str(tmp_path))
    assert d.records == tmp_path / "records.jsonl"
    assert d.rejected == tmp_path / "records.rejected.jsonl"
    assert d.suite_file == tmp_path / "suite.yaml" and d.run_file == tmp_path / "run.json"
    assert d.strip("slider", 3, 7) == tmp_path / "samples/slider/seed3_w7.png"
    assert SuiteDir.strip_name("slider", 3, 7) == Path("samples/slider/seed3_w7.png")
    assert d.sample_values("slider", 3) == tmp_path / "samples/slider/seed3.json"
    assert d.train_log("fixed_weight_w0", 2) == tmp_path / "train_logs/fixed_weight_w0_seed2.jsonl"


def test_the_readers_find_files_at_its_paths(tmp_path):
    d = SuiteDir(tmp_path)
    for path, text in ((d.strip("m", 0, 1), "png"),
                       (d.sample_values("m", 0), '{"cells": [{"w": [1, 0], "rewards": {"a": [0.5]}}]}'),
                       (d.train_log("m", 0), '{"epoch": 1, "rewards": {"a": 0.25}}\n')):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert strip_paths(tmp_path, [{"method": "m", "seed": 0, "w_index": 1},
                                  {"method": "m", "seed": 0, "w_index": 2}]) == [d.strip("m", 0, 1), None]
    cells = load_sample_values(tmp_path, "m", 0)
    assert cells[0].w == (1.0, 0.0) and cells[0].rewards["a"].tolist() == [0.5]
    assert load_train_logs(tmp_path) == {("m", 0): [{"epoch": 1.0, "a": 0.25}]}
