"""The report on hand-made suites: numbers, tables, figures and missing side files."""

import numpy as np
import pandas as pd
import pytest

from bench.cli.report import main
from bench.report.aggregate import leaderboard, per_run_table
from bench.report.build import build_report, build_scaling_report
from bench.store.records import append_record, read_records


def quarter_staircase_hv() -> float:
    """Exact HV (ref 0) of the points (sin a, cos a), a = 0, 22.5, ..., 90 degrees."""
    x = np.sin(np.linspace(0, np.pi / 2, 5))
    y = np.cos(np.linspace(0, np.pi / 2, 5))
    return float(np.sum(np.diff(x) * y[1:]))


def test_per_run_metrics_known_answers(two_obj_suite):
    runs = per_run_table(read_records(two_obj_suite / "records.jsonl"), two_obj_suite)
    row = runs.set_index(["method", "seed"])
    # Five points of the unit quarter circle, shrunk by 0.98 for seed 1 (HV scales by s^2).
    assert row.loc[("paretoslider", 0), "hv"] == pytest.approx(quarter_staircase_hv())
    assert row.loc[("paretoslider", 1), "hv"] == pytest.approx(0.98**2 * quarter_staircase_hv())
    # Staircase under the line r0 + r1 = 0.8 at steps of 0.2: 0.2 * (0.6 + 0.4 + 0.2).
    assert row.loc[("fixed_weight", 0), "hv"] == pytest.approx(0.24)
    # The second reward is declared on [0, 10]: raw 5.0 normalises to 0.5.
    assert row.loc[("flow_multi", 0), "hv"] == pytest.approx(0.25)
    assert row.loc[("flow_multi", 0), "heldout_hv"] == pytest.approx(0.45 * 0.4)
    assert row.loc[("paretoslider", 0), "igd_plus"] == pytest.approx(0.0)
    assert row.loc[("fixed_weight", 0), "cu"] == pytest.approx(0.6)  # mean of 0.8(w^2+(1-w)^2)
    assert row.loc[("paretoslider", 0), "spearman"] == pytest.approx(1.0)
    # Side-file images sit at (w0, 1 - w0) +- noise: every image at w0 = 0.5 shows both
    # styles (>= 0.25), about half at w0 = 0.25 and 0.75; none shows neither.
    assert 0.5 < row.loc[("paretoslider", 0), "blend"] < 1.0
    assert row.loc[("paretoslider", 0), "neither"] == 0.0
    assert np.isnan(row.loc[("paretoslider", 1), "blend"])  # no side file for seed 1
    # Five distinct points each, and k = fixed_weight's five: matched HV is plain HV.
    assert row.loc[("paretoslider", 0), "hv_matched"] == pytest.approx(quarter_staircase_hv())
    assert row.loc[("fixed_weight", 0), "checkpoints"] == 5


def test_static_method_gets_na_not_numbers(two_obj_suite):
    records = read_records(two_obj_suite / "records.jsonl")
    table = per_run_table(records).set_index(["method", "seed"])
    for key in ("spearman", "monotonicity", "range", "jump_ratio", "heldout_monotonicity"):
        assert np.isnan(table.loc[("flow_multi", 0), key])
    assert table.loc[("flow_multi", 0), "cu"] == pytest.approx(0.5)  # still defined at w


def test_leaderboard_statistics_over_seeds(two_obj_suite):
    board = leaderboard(per_run_table(read_records(two_obj_suite / "records.jsonl")))
    ps = board.set_index("method").loc["paretoslider"]
    assert ps["n_seeds"] == 3
    assert ps["wall_s"] == pytest.approx(101.0)
    assert (ps["wall_s_min"], ps["wall_s_max"]) == (100.0, 102.0)
    # Bootstrap over seeds: inside the seeds' range, unlike the t-interval 101 +- 2.48.
    assert 100.0 <= ps["wall_s_ci_low"] < 101.0 < ps["wall_s_ci_high"] <= 102.0
    assert ps["hv_ci_low"] < ps["hv"] < ps["hv_ci_high"]


def test_build_report_writes_tables_and_figures(two_obj_suite):
    out = build_report(two_obj_suite)
    names = {p.name for p in out["tables"] + out["figures"]}
    assert {"leaderboard.md", "leaderboard.csv", "leaderboard.tex", "pareto.png",
            "pareto_train.png", "slider_strips.png", "training_curves.png",
            "reward_vs_drift.png"} <= names
    assert all(p.stat().st_size > 0 for p in out["figures"])
    csv = pd.read_csv(two_obj_suite / "leaderboard.csv")
    required = ["method", "hv", "hv_ci_low", "hv_ci_high", "eum", "cu", "igd_plus", "spearman",
                "monotonicity", "train_images", "wall_s", "checkpoints", "hv_norm", "range",
                "jump_ratio", "adherence", "drift", "forward_passes", "backward_passes",
                "hv_min", "hv_max"]
    assert set(required + [f"heldout_{c}" for c in required[1:9]]) <= set(csv.columns)
    assert csv.set_index("method")["spearman"].isna()["flow_multi"]  # written as n/a
    assert "n/a" in (two_obj_suite / "leaderboard.csv").read_text()
    md = (two_obj_suite / "leaderboard.md").read_text()
    assert md.index("## Headline: held-out judges") < md.index("## Training rewards")
    ps_line = next(line for line in md.splitlines() if line.startswith("| paretoslider"))
    assert ps_line.split("|")[2].strip().startswith("**0.5")  # best held-out HV matched
    assert "| flow_multi" in md and "n/a" in md
    tex = (two_obj_suite / "leaderboard.tex").read_text()
    assert "\\textbf{" in tex and "fixed\\_weight" in tex and "\\toprule" in tex


def test_missing_side_files_skip_figures_without_failing(tmp_path, capsys, two_obj_suite):
    bare = tmp_path / "bare"
    for rec in read_records(two_obj_suite / "records.jsonl"):
        append_record(bare / "records.jsonl", rec)
    (bare / "samples" / "paretoslider").mkdir(parents=True)
    (bare / "samples" / "paretoslider" / "seed0_w0.png").write_bytes(b"not a png")
    (bare / "samples" / "paretoslider" / "seed0.json").write_text('{"cells": [{"w"')
    out = build_report(bare)
    assert {p.name for p in out["figures"]} == {"pareto.png", "pareto_train.png",
                                                "reward_vs_drift.png"}
    printed = capsys.readouterr().out
    assert "slider strips skipped" in printed and "training curves skipped" in printed
    assert printed.count("cannot read") >= 2
    assert out["leaderboard"].set_index("method")["blend"].isna().all()


def test_three_objectives_simplex_grid_and_scaling(two_obj_suite, three_obj_suite):
    out = build_report(three_obj_suite)
    names = {p.name for p in out["figures"]}
    assert "simplex_paretoslider.png" in names and "pareto.png" in names
    ps = out["leaderboard"].set_index("method").loc["paretoslider"]
    assert ps["monotonicity"] == 1.0 and ps["spearman"] == pytest.approx(1.0)
    path = build_scaling_report([two_obj_suite, three_obj_suite], two_obj_suite.parent / "sc")
    assert path.name == "scaling.png" and path.stat().st_size > 0
    # per-objective targets: the fixture's slider has r = w on the held-out judges, so every
    # objective ranks perfectly and shows fully at its vertex; the static method has no row
    targets = pd.read_csv(two_obj_suite.parent / "sc" / "targets.csv")
    slider = targets[(targets["part"] == "three_obj") & (targets["method"] == "paretoslider")]
    assert len(slider) == 3 and (slider["spearman"] == 1.0).all()
    assert slider["vertex"].to_numpy() == pytest.approx([1.0, 1.0, 1.0])
    assert "flow_multi" not in set(targets["method"])
    assert "## three_obj (M = 3, 1 seeds)" in (two_obj_suite.parent / "sc" / "targets.md").read_text()


def test_parts_of_one_M_give_the_targets_table_only(two_obj_suite):
    out = two_obj_suite.parent / "one"
    path = build_scaling_report([two_obj_suite], out)
    assert path.name == "targets.md" and not (out / "figures" / "scaling.png").exists()


def test_cli(two_obj_suite, capsys):
    results = two_obj_suite.parent
    assert main(["suite=two_obj", f"results_dir={results}"]) == 0
    assert "leaderboard.md" in capsys.readouterr().out
    assert main([f"results_dir={results}"]) == 2
    with pytest.raises(FileNotFoundError, match="no records"):
        main(["suite=nothing_here", f"results_dir={results}"])
    with pytest.raises(SystemExit):
        main(["two_obj"])


def test_reference_point_from_records_or_override(two_obj_suite):
    records = read_records(two_obj_suite / "records.jsonl")
    static = [dict(r, ref_point=[0.2, 0.2]) for r in records if r["method"] == "flow_multi"]
    assert per_run_table(static)["hv"].iloc[0] == pytest.approx(0.3 * 0.3)
    override = per_run_table(static, ref_point=[0.5, 0.0])
    assert override["hv"].iloc[0] == 0.0  # (0.5, 0.5) does not beat the reference


def test_an_oracle_at_other_settings_is_named(tmp_path):
    import yaml

    from bench.report.build import oracle_settings_note

    oracle = tmp_path / "two_obj_oracle"
    oracle.mkdir()
    mine = {"method_options": {"fixed_weight": {"lr": 5e-4, "lambda_ref": 1.0}}}
    assert oracle_settings_note(mine, None) is None
    assert "not recorded" in oracle_settings_note(mine, oracle)
    (oracle / "suite.yaml").write_text(yaml.safe_dump(
        {"method_options": {"fixed_weight": {"lr": 5e-4, "lambda_ref": 0.3}}}))
    note = oracle_settings_note(mine, oracle)
    assert "'lambda_ref': 0.3" in note and "'lambda_ref': 1.0" in note
    assert oracle_settings_note({"method_options": {"fixed_weight": {"lr": 5e-4},
                                                    "oracle": {"lambda_ref": 0.3}}},
                                oracle) is None  # the oracle's own options count too
