"""Atomic writes of report files and figures; unreadable done.json files."""
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from bench.execute.jobs import read_done
from bench.report.figures import save_figure
from bench.store.files import atomic_save, atomic_text


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "leaderboard.md"
    atomic_text(path, "old")

    def half_then_fail(tmp):
        tmp.write_text("ne")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic_save(path, half_then_fail)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["leaderboard.md"]


def test_figures_are_written_whole_through_a_temporary_of_the_same_type(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = save_figure(fig, tmp_path / "figures" / "pareto.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["pareto.png"]


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"label": "x"}', "\xff\xfe"])
def test_an_unreadable_done_file_means_unfinished_with_a_warning(tmp_path, content):
    (tmp_path / "done.json").write_text(content, encoding="latin-1")
    with pytest.warns(UserWarning, match="treating its unit as unfinished"):
        assert read_done(tmp_path) is None
    assert not (tmp_path / "done.json").exists()
    assert read_done(tmp_path) is None  # absent: unfinished, silently


def test_a_done_file_gives_its_summary(tmp_path):
    summary = {"label": "u", "epochs": 3, "cost": {"images": 10}}
    (tmp_path / "done.json").write_text(json.dumps(summary))
    assert read_done(tmp_path) == summary
