"""The leaderboard as a static web page: `<suite>/index.html` and `index.html` beside them.

The page is rendered with Jinja2 from the same `Section`s that leaderboard.md is written from
(`bench.report.tables`), so it keeps their intervals, bold and n/a. It opens from disk and fetches
nothing: styles and the sorting script are inline, images are relative links to the
suite's own figures and sample strips. Every table sorts by any column; a cell's sort key
is the number it starts with (n/a sorts last), text otherwise.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bench.report.aggregate import group_runs
from bench.report.tables import IDENTICAL, NA, Section
from bench.store.files import atomic_text
from bench.store.sidefiles import strip_paths
from bench.store.suite_dir import SuiteDir

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGE = "index.html"
LEADING_NUMBER = re.compile(r"[+-]?(?:\d[\d,]*)?\.?\d+(?:[eE][+-]?\d+)?")


def environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                       autoescape=select_autoescape(("html", "j2")), trim_blocks=True,
                       lstrip_blocks=True, keep_trailing_newline=True)


def sort_key(text: str) -> float | None:
    """The number a cell starts with ("0.167 [0.142, 0.191]" -> 0.167, "129,888" ->
    129888); None for n/a and for text."""
    match = LEADING_NUMBER.match(text.strip())
    if text.strip() == NA or match is None:
        return None
    return float(match.group().replace(",", ""))


def row_method(first_cell: str) -> str:
    """The method a table row is about: "fixed_weight ‡" or "paretoslider@0.33" -> name."""
    return first_cell.replace(IDENTICAL, "").strip().split("@")[0]


def page_table(section: Section, strips: bool = False) -> dict[str, Any]:
    """A Section as the template reads it: cells with their sort keys, rows with a method."""
    rows = [{"method": row_method(r[0][0]),
             "cells": [{"text": t, "bold": b, "key": sort_key(t), "na": t.strip() == NA}
                       for t, b in r]} for r in section.body]
    return {"title": section.title, "header": section.header, "rows": rows,
            "above": section.above, "notes": section.notes, "strips": strips}


def relative(path: Path, root: Path) -> str:
    return Path(path).resolve().relative_to(root.resolve()).as_posix()


def sample_strips(suite_dir: Path, records: Sequence[Mapping[str, Any]]
                  ) -> dict[str, dict[str, Any]]:
    """Per method: its lowest seed's sample strips ordered by w (first objective rising),
    as {"seed", "tiles": [{"w", "src"}]} (src None where the PNG is missing); methods without
    any image are left out."""
    out: dict[str, dict[str, Any]] = {}
    for (method, seed), recs in sorted(group_runs(records).items(), key=lambda kv: kv[0][1]):
        if method in out:
            continue
        tiles = [{"w": tuple(float(x) for x in r["w"]),
                  "src": relative(p, suite_dir) if p else None}  # None: shown as missing
                 for r, p in zip(recs, strip_paths(suite_dir, recs), strict=True)]
        if any(t["src"] for t in tiles):
            tiles.sort(key=lambda t: t["w"][0])
            for t in tiles:
                t["w"] = "(" + ", ".join(f"{x:.2g}" for x in t["w"]) + ")"
            out[method] = {"seed": seed, "tiles": tiles}
    return out


def read_run(suite_dir: Path) -> dict[str, Any] | None:
    """run.json (command, commit, machine, wall time), or None if absent or unreadable."""
    try:
        run = json.loads(SuiteDir(suite_dir).run_file.read_text())
    except (OSError, ValueError):
        return None
    return run if isinstance(run, dict) else None


def machine_text(machine: Any) -> str:
    if not isinstance(machine, Mapping):
        return str(machine or NA)
    return (f"{machine.get('cpus', NA)} CPUs, {machine.get('processor', NA)}, "
            f"{machine.get('platform', NA)}")


def figure_entries(suite_dir: Path, figures: Sequence[Path]) -> tuple[list, list]:
    """(other figures, simplex grids) as {"title", "src"}, in the order they were made."""
    plain, simplex = [], []
    for path in figures:
        entry = {"title": Path(path).stem.replace("_", " "), "src": relative(path, suite_dir)}
        (simplex if Path(path).stem.startswith("simplex_") else plain).append(entry)
    return plain, simplex


def write_suite_page(suite_dir: str | Path, title: str, sections: Sequence[Section],
                     records: Sequence[Mapping[str, Any]], figures: Sequence[Path],
                     counts: Mapping[str, int]) -> Path:
    """Render `<suite_dir>/index.html`: run facts and cell counts, the headline table (with
    each method's strip of images across w beside its row), the other tables, figures."""
    suite_dir = Path(suite_dir)
    run = read_run(suite_dir)
    plain, simplex = figure_entries(suite_dir, figures)
    tables = [page_table(sec, strips=i == 0) for i, sec in enumerate(sections)]
    html = environment().get_template("suite.html.j2").render(
        title=title, run=run, machine=machine_text((run or {}).get("machine")),
        counts=dict(counts), tables=tables, strips=sample_strips(suite_dir, records),
        figures=plain, simplex=simplex, na=NA)
    path = suite_dir / PAGE
    atomic_text(path, html)
    return path


def suite_entry(folder: Path) -> dict[str, Any]:
    """One line of the index: a suite's page, or the files another result folder holds."""
    run = read_run(folder) or {}
    files = sorted(p for p in folder.iterdir() if p.suffix in (".md", ".png", ".csv"))
    figures = sorted((folder / "figures").glob("*.png")) if (folder / "figures").is_dir() else []
    return {"name": folder.name, "page": (folder / PAGE).is_file(),
            "finished": run.get("finished"), "wall_s": run.get("wall_s"),
            "command": run.get("command"),
            "files": [relative(p, folder.parent) for p in [*files, *figures]]}


def write_index(results_dir: str | Path) -> Path:
    """Render `<results_dir>/index.html`, linking every suite page and other result folder."""
    results_dir = Path(results_dir)
    folders = sorted(p for p in results_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    entries = [suite_entry(f) for f in folders]
    html = environment().get_template("index.html.j2").render(
        title=f"Results: {results_dir.resolve().name}",
        suites=[e for e in entries if e["page"]],
        others=[e for e in entries if not e["page"] and e["files"]])
    path = results_dir / PAGE
    atomic_text(path, html)
    return path
