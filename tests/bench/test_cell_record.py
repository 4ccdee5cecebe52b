"""The typed cell record writes the lines records have always had, and names a malformed one."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.store.cell_record import CellRecord, MalformedRecordError
from bench.store.records import append_record

RESULTS = Path(__file__).resolve().parents[2] / "results"


def _line(record: dict) -> str:
    return json.dumps(record, allow_nan=False, separators=(",", ":"))


def test_every_committed_record_round_trips_byte_identically():
    lines = [line for path in sorted(RESULTS.glob("**/records.jsonl"))
             for line in path.read_text().splitlines() if line.strip()]
    assert len(lines) > 1000
    for line in lines:
        assert _line(CellRecord.from_dict(json.loads(line)).to_dict()) == line


def test_built_from_its_parts_in_the_record_order(tmp_path):
    cell = CellRecord.build(
        {"config_hash": "ab", "versions": {"torch": "x"}, "commit": None, "ref_point": [0.0, 0.0],
         "checkpoint": 1.0, "passes": 10, "eval_noise_seed": 7,
         "known_answer": {"angle_deg": 3.0}, "my_measure": 1.5},
        suite="s", method="m", seed=0, w=[0.5, 0.5], w_index=2, objectives=["a", "b"],
        heldout=["a_h", "b_h"], ranges={"a": [0.0, 1.0]}, rewards={"a": 0.1, "b": 0.2},
        judges={"a_h": 0.3, "b_h": None}, quality={"adherence": None}, w_dependent=True,
        strength={}, cost={"images": 3}, sample_png=None, ideal_box=None)
    out = cell.to_dict()
    assert list(out) == ["suite", "method", "seed", "w", "w_index", "objectives", "heldout",
                         "ranges", "rewards", "judges", "quality", "w_dependent", "strength",
                         "cost", "sample_png", "config_hash", "versions", "commit", "ref_point",
                         "checkpoint", "passes", "eval_noise_seed", "known_answer",
                         "my_measure"]
    assert out["sample_png"] is None and out["commit"] is None and cell.extra == {
        "my_measure": 1.5}
    append_record(tmp_path / "r.jsonl", out)
    assert (tmp_path / "r.jsonl").read_text() == _line(out) + "\n"
    assert CellRecord.from_dict(out) == cell


@pytest.mark.parametrize(("change", "message"), [
    ({"method": None}, "'method' has the wrong type"),
    ({"seed": "0"}, "'seed' has the wrong type"),
    ({"w": [0.5]}, "w has 1 weights for 2 objectives"),
    ({"rewards": {"a": "high"}}, "'rewards' has the wrong type"),
    ({"checkpoint": "1"}, "'checkpoint' has the wrong type"),
])
def test_a_malformed_record_is_named_in_one_line(change, message):
    good = CellRecord(suite="s", method="m", seed=0, w=[0.5, 0.5], objectives=["a", "b"],
                      heldout=[], ranges={}, rewards={}, judges={}, quality={},
                      w_dependent=True, cost={}).to_dict()
    with pytest.raises(MalformedRecordError, match=message) as err:
        CellRecord.from_dict({**good, **change})
    assert "\n" not in str(err.value)
    missing = {k: v for k, v in good.items() if k != "judges"}
    with pytest.raises(MalformedRecordError, match="record of m seed 0: missing key 'judges'"):
        CellRecord.from_dict(missing)
