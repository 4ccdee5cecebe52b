"""The leaderboard's web page: the same cells as leaderboard.md, static, with strips,
figures, run facts and cell counts; the results index links every suite."""
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bench.report.build import build_report
from bench.report.html import row_method, sort_key
from bench.store.records import append_record, read_records

RUN = {"command": "python -m bench.run suite=two_obj", "commit": "abc123",
       "machine": {"cpus": 2, "platform": "Linux-x", "processor": "x86_64"}, "wall_s": 4688.0,
       "finished": "2026-01-01 00:00:00 UTC"}


class Page(HTMLParser):
    """Tables (title, header, rows of (method, cells)), images and links of a page."""

    def __init__(self, text: str):
        super().__init__()
        self.tables, self.images, self.links = [], [], []
        self._cell = self._row = None
        self._bold = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append({"title": a.get("data-title"), "header": [], "rows": []})
        elif tag == "tr" and "data-method" in a:
            self._row = {"method": a["data-method"], "cells": []}
            self.tables[-1]["rows"].append(self._row)
        elif tag in ("td", "th"):
            self._cell = {"text": "", "bold": False, "class": a.get("class", ""),
                          "sort": a.get("data-sort")}
        elif tag == "strong" and self._cell is not None:
            self._cell["bold"] = True
        elif tag == "img":
            self.images.append(a["src"])
        elif tag == "a":
            self.links.append(a["href"])

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            cell, self._cell = self._cell, None
            cell["text"] = cell["text"].strip()
            if tag == "th" and self.tables:
                self.tables[-1]["header"].append(cell["text"])
            elif self._row is not None:
                self._row["cells"].append(cell)
        elif tag == "tr":
            self._row = None


def test_sort_keys_and_row_names_known_answers():
    assert sort_key("0.167 [0.142, 0.191]") == pytest.approx(0.167)
    assert sort_key("-0.032 [-0.063, 0.003]") == pytest.approx(-0.032)
    assert sort_key("+0.048 [0.013, 0.085] P=0.960") == pytest.approx(0.048)
    assert sort_key("129,888") == 129888 and sort_key("1,234 (declared)") == 1234
    assert sort_key("1.5e-03") == pytest.approx(0.0015)
    assert sort_key("n/a") is None and sort_key("switch-like") is None
    assert row_method("prompting ‡") == "prompting"
    assert row_method("paretoslider@0.33") == "paretoslider"


@pytest.fixture
def built(two_obj_suite):
    """two_obj with one cell dropped, flow_multi's cost declared and a run.json."""
    records = read_records(two_obj_suite / "records.jsonl")
    (two_obj_suite / "records.jsonl").unlink()
    for r in records[:-1]:  # the last one: flow_multi, seed 2, w = (1, 0)
        if r["method"] == "flow_multi":
            r["cost"]["declared"] = True
        append_record(two_obj_suite / "records.jsonl", r)
    (two_obj_suite / "run.json").write_text(json.dumps(RUN))
    out = build_report(two_obj_suite)
    return two_obj_suite, out


def test_page_shows_the_markdown_cells_headline_first(built):
    suite, out = built
    assert out["pages"] == [suite / "index.html", suite.parent / "index.html"]
    page = Page((suite / "index.html").read_text())
    markdown = (suite / "leaderboard.md").read_text().splitlines()
    titles = [line[3:] for line in markdown if line.startswith("## ")]
    assert [t["title"] for t in page.tables] == titles  # same tables, same order
    assert titles[0] == "Headline: held-out judges"
    methods = {"paretoslider", "fixed_weight", "flow_multi"}
    for table in page.tables:
        if table["title"] in (titles[0], "Held-out judges (all metrics)",
                              "Training rewards (all metrics)", "Quality and cost"):
            assert {r["method"] for r in table["rows"]} == methods, table["title"]
        for row in table["rows"]:  # every row, as leaderboard.md writes it
            cells = [c for c in row["cells"] if "strip" not in c["class"]]
            line = "| " + " | ".join(f"**{c['text']}**" if c["bold"] else c["text"]
                                     for c in cells) + " |"
            assert line in markdown, line
    headline = page.tables[0]
    assert headline["header"][:3] == ["Method", "Samples across w →", "HV matched"]
    flow = next(r for r in headline["rows"] if r["method"] == "flow_multi")
    spearman = flow["cells"][headline["header"].index("Spearman")]
    assert spearman["text"] == "n/a" and spearman["class"] == "na" and spearman["sort"] is None
    passes = flow["cells"][headline["header"].index("Passes")]
    assert passes["text"] == "150,000 (declared)" and float(passes["sort"]) == 150000
    assert re.search(r"\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", headline["rows"][0]["cells"][2]["text"])


def test_page_is_static_with_strips_figures_run_facts_and_counts(built):
    suite, out = built
    text = (suite / "index.html").read_text()
    page = Page(text)
    assert not re.search(r"(src|href)=\"(https?:)?//", text)  # nothing from the network
    for link in [*page.images, *page.links]:
        assert (suite / link).is_file(), link
    strips = [src for src in page.images if src.startswith("samples/")]
    # paretoslider seed 0 has strips (w rising); the other methods none
    assert strips == [f"samples/paretoslider/seed0_w{i}.png" for i in range(5)]
    figures = {f"figures/{p.name}" for p in out["figures"]}
    assert figures <= set(page.images) and "figures/pareto.png" in figures
    for fact in ("python -m bench.run suite=two_obj", "abc123", "2 CPUs, x86_64, Linux-x",
                 "4,688 s, finished 2026-01-01 00:00:00 UTC"):
        assert fact in text
    assert "Cells: 44 recorded, 1 missing, 0 skipped (a NaN score)" in text
    assert 'class="sortable"' in text and "addEventListener" in text


def test_results_index_links_every_suite_and_three_objective_grids(two_obj_suite,
                                                                   three_obj_suite):
    root = two_obj_suite.parent
    assert three_obj_suite.parent == root
    (root / "tuning").mkdir()
    (root / "tuning" / "two_obj.md").write_text("# tuning\n")  # a folder without a page
    build_report(two_obj_suite)
    build_report(three_obj_suite)
    links = Page((root / "index.html").read_text()).links
    assert links == ["three_obj/index.html", "two_obj/index.html", "tuning/two_obj.md"]
    assert all((root / link).is_file() for link in links)
    three = (three_obj_suite / "index.html").read_text()
    assert "Simplex grids (three objectives)" in three
    assert 'src="figures/simplex_paretoslider.png"' in three
    assert Path(three_obj_suite / "figures" / "simplex_paretoslider.png").is_file()
