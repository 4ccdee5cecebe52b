"""Fresh seeds: the seeds a headline's settings were not chosen on, reported apart."""
import numpy as np

from bench.report.aggregate import analyse, leaderboard
from bench.report.fresh import fresh_section, fresh_seeds, protocol_line
from bench.report.tables import fmt
from bench.store.records import append_record
from tests.bench.conftest import two_obj_records, write_side_files


def test_fresh_seeds_are_those_not_chosen_on():
    records = two_obj_records(seeds=(0, 1, 2, 3))
    assert fresh_seeds(records, [0, 1]) == [2, 3]
    assert fresh_seeds(records, None) == [] and fresh_seeds(records, [0, 1, 2, 3]) == []
    assert protocol_line(records, None) is None
    assert protocol_line(records, [0, 1]).endswith("seeds 2, 3 are fresh (table 'Fresh seeds').")
    assert protocol_line(records, [0, 1, 2, 3]).endswith("no seed here is fresh.")
    assert protocol_line(records, [7]).endswith("; every seed here is fresh.")


def test_the_fresh_table_reports_the_fresh_seeds_alone(tmp_path):
    records = two_obj_records(seeds=(0, 1, 2, 3))
    suite = tmp_path / "two_obj"
    for rec in records:
        append_record(suite / "records.jsonl", rec)
    write_side_files(suite, records)
    found = analyse(records, suite)
    board = leaderboard(found.per_run, found.replicates, found.ref)
    section = fresh_section(records, suite, board, [0, 1], found.k)
    assert section.title == "Fresh seeds"
    rows = {cells[0][0]: [text for text, _ in cells] for cells in section.body}
    assert set(rows) == set(board["method"])
    runs = found.per_run
    for method, texts in rows.items():
        own = runs[(runs["method"] == method) & runs["seed"].isin([2, 3])]
        fresh_mean = np.mean(own["heldout_hv_matched"].astype(float))
        all_mean = float(board.set_index("method").loc[method, "heldout_hv_matched"])
        if np.isfinite(fresh_mean):  # the fresh column is the mean of seeds 2 and 3 only
            assert texts[1].startswith(fmt(fresh_mean))
            assert texts[2].startswith(fmt(all_mean))
    assert rows["paretoslider"][-2:] == ["-", "n/a"]
    assert rows["fixed_weight"][-2] != "n/a"  # paired against the slider on seeds 2, 3
    assert fresh_section(records, suite, board, [0, 1, 2, 3], found.k) is None
    assert fresh_section(records, suite, board, [7], found.k) is None  # all fresh: no repeat
