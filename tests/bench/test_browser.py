"""A real browser opens a suite's page from disk: it renders, logs no error, every method
has a row in each per-method table, sorting by HV reorders the rows, every image loads.

Headless Chromium from the system (Debian's `chromium`; `make test` installs it when
missing), driven by Playwright, which downloads no browser of its own here.
"""
import io
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.report.build import build_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).is_file(),
                                reason="no chromium on this machine (apt-get install chromium)")
# with --headless and a fresh --user-data-dir, which Playwright passes itself
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PER_METHOD = ("Headline: held-out judges", "Held-out judges (all metrics)",
              "Training rewards (all metrics)", "Quality and cost")

ROWS = """(title) => Array.from(document.querySelectorAll('table.sortable')).find(
    t => t.dataset.title === title).querySelectorAll('tbody tr')"""


def methods_in(page, title: str) -> list[str]:
    return page.evaluate(f"(t) => Array.from(({ROWS})(t)).map(r => r.dataset.method)", title)


def column(page, title: str, header: str) -> list[float | None]:
    """The sort keys of one column of a table, in row order (None for n/a)."""
    return page.evaluate("""([t, h]) => {
        const table = Array.from(document.querySelectorAll('table.sortable')).find(
            x => x.dataset.title === t);
        const i = Array.from(table.tHead.rows[0].cells).findIndex(
            c => c.textContent.trim() === h);
        return Array.from(table.tBodies[0].rows).map(r => {
            const k = r.cells[i].getAttribute('data-sort');
            return k === null ? null : parseFloat(k); });
    }""", [title, header])


def test_suite_page_in_headless_chromium(two_obj_suite, tmp_path):
    from playwright.sync_api import sync_playwright

    build_report(two_obj_suite)
    url = (two_obj_suite / "index.html").as_uri()
    problems = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1400, "height": 900})
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
            page.goto(url, wait_until="load")
            assert page.title() == "Leaderboard: two_obj"
            shot = Image.open(io.BytesIO(page.screenshot(full_page=True)))
            assert shot.width >= 1000 and shot.height >= 1500
            assert np.asarray(shot.convert("L")).std() > 10  # not a blank page

            everyone = {"paretoslider", "fixed_weight", "flow_multi"}
            for title in PER_METHOD:
                assert set(methods_in(page, title)) == everyone, title
                assert len(methods_in(page, title)) == len(everyone)

            headline = PER_METHOD[0]
            before = methods_in(page, headline)
            hv = dict(zip(before, column(page, headline, "HV"), strict=True))
            hv_button = page.locator(f"table[data-title='{headline}'] thead th button").filter(
                has_text=re.compile(r"^HV$"))
            hv_button.click()
            ascending = methods_in(page, headline)
            assert ascending == sorted(before, key=hv.get) and ascending != before
            hv_button.click()
            assert methods_in(page, headline) == ascending[::-1]

            images = page.evaluate("""() => Array.from(document.images).map(
                i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])""")
            assert len(images) >= 5
            for src, loaded in images:
                assert loaded and (two_obj_suite / src).is_file(), src
        finally:
            browser.close()
    assert problems == []
