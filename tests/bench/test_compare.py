"""A run beside the committed reference: per method, mean and interval, and whether the
run's mean lies inside the reference interval."""
import copy

from bench.report.compare import compare, format_comparison, shared_seeds
from bench.store.records import append_record, read_records


def write(suite_dir, records):
    for r in records:
        append_record(suite_dir / "records.jsonl", r)
    return suite_dir


def test_the_same_records_lie_inside_and_a_worse_slider_does_not(tmp_path, two_obj_suite):
    ref = two_obj_suite
    records = read_records(ref / "records.jsonl")
    same = compare(write(tmp_path / "same", records), ref)
    assert list(same["method"]) == ["paretoslider", "fixed_weight", "flow_multi"]
    row = same.set_index("method").loc["paretoslider"]
    assert row["heldout_hv"] == row["ref_heldout_hv"] and row["heldout_hv_inside"]
    assert row["ref_heldout_hv_ci_low"] <= row["heldout_hv"] <= row["ref_heldout_hv_ci_high"]

    worse = copy.deepcopy(records)
    for r in worse:
        if r["method"] == "paretoslider":  # every held-out score halved: a quarter of the HV
            r["judges"] = {k: v / 2 for k, v in r["judges"].items()}
    table = compare(write(tmp_path / "worse", worse), ref).set_index("method")
    slider = table.loc["paretoslider"]
    assert abs(slider["heldout_hv"] - slider["ref_heldout_hv"] / 4) < 1e-9
    assert not slider["heldout_hv_inside"]
    assert table.loc["fixed_weight", "heldout_hv_inside"]
    assert table.loc["flow_multi", "heldout_spearman_inside"] is None  # static: no Spearman
    text = format_comparison(table.reset_index())
    assert "| paretoslider |" in text and "| NO |" in text


def test_a_run_of_fewer_seeds_is_compared_on_its_own_seeds():
    ref = [{"seed": s, "x": s} for s in (0, 1, 2)]
    assert [r["seed"] for r in shared_seeds([{"seed": 1}], ref)] == [1]
    # seeds the reference lacks: the whole reference stays
    assert shared_seeds([{"seed": 1}, {"seed": 7}], ref) == ref
