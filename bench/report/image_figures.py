"""Figures made of sample images: slider strips and the 3-objective simplex grid.

Both read the per-cell PNG strips a run saved (see `bench.store.sidefiles`) and show the first
tile of each strip (one prompt, one noise seed), so the images differ only by w. A cell
without a readable PNG is drawn as a labelled gap in its place; a figure with no image at
all is skipped (returns None).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from bench.metrics.resample import BELOW_BASE_MARGIN
from bench.report.aggregate import group_runs
from bench.report.figures import adherence_drop, save_figure
from bench.store.sidefiles import note, strip_paths

Record = Mapping[str, Any]


def first_tile(path: Path) -> np.ndarray | None:
    """The first square image of a strip (horizontal or vertical); None if unreadable."""
    try:
        img = mpimg.imread(path)
    except (OSError, ValueError, SyntaxError) as err:
        note(f"cannot read {path}: {err}")
        return None
    h, w = img.shape[:2]
    return img[:, :h] if w >= h else img[:w]


def _first_seed_cells(suite_dir: Path, records: Sequence[Record]
                      ) -> dict[str, list[tuple[tuple[float, ...], np.ndarray, bool]]]:
    """Per method, (w, first tile, adherence below the base's) of its lowest seed's cells; the
    tile is None where the cell's PNG is missing or unreadable (drawn as a labelled gap, so no
    other image moves into its place)."""
    out: dict[str, list[tuple[tuple[float, ...], np.ndarray, bool]]] = {}
    for (method, seed), recs in sorted(group_runs(records).items(), key=lambda kv: kv[0][1]):
        if method in out:
            continue
        tiles = [(tuple(float(x) for x in r["w"]), first_tile(p) if p else None,
                  (adherence_drop(r) or 0.0) > BELOW_BASE_MARGIN)
                 for r, p in zip(recs, strip_paths(suite_dir, recs), strict=True)]
        if any(tile is not None for _, tile, _ in tiles):
            out[method] = tiles
    return out


def slider_strips(suite_dir: str | Path, records: Sequence[Record], path: str | Path
                  ) -> Path | None:
    """One row per w-dependent method: its images with w swept from left to right
    (ordered by w of the first objective); a red frame marks a cell whose adherence fell more
    than BELOW_BASE_MARGIN below the base model's (that seed, any adherence scorer)."""
    dynamic = [r for r in records if r.get("w_dependent", True)]
    cells = _first_seed_cells(Path(suite_dir), dynamic)
    if not cells:
        note("no sample strips found: slider strips skipped")
        return None
    cols = max(len(c) for c in cells.values())
    fig, axes = plt.subplots(len(cells), cols, figsize=(1.3 * cols, 1.5 * len(cells)),
                             squeeze=False)
    for row, (method, items) in enumerate(cells.items()):
        items = sorted(items, key=lambda item: item[0][0])
        for col, ax in enumerate(axes[row]):
            ax.axis("off")
            if col < len(items):
                w, tile, low = items[col]
                if tile is None:
                    _missing(ax)
                else:
                    ax.imshow(tile)
                ax.set_title(f"w={w[0]:.2g}", fontsize=7, color="red" if low else "black")
                if low:
                    ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False,
                                           edgecolor="red", linewidth=2, clip_on=False))
        axes[row][0].text(-0.1, 0.5, method, transform=axes[row][0].transAxes, ha="right",
                          va="center", fontsize=8)
    return save_figure(fig, path)


def _missing(ax: plt.Axes) -> None:
    """An empty, labelled cell where a sample image is missing."""
    ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False, edgecolor="grey",
                           linestyle="--", linewidth=1, clip_on=False))
    ax.text(0.5, 0.5, "missing", transform=ax.transAxes, ha="center", va="center",
            fontsize=7, color="grey")


def simplex_position(w: Sequence[float]) -> tuple[float, float]:
    """Barycentric w on a triangle with objectives 0, 1, 2 at its left, right, top corners."""
    return float(w[1] + 0.5 * w[2]), float(np.sqrt(3) / 2 * w[2])


def simplex_grid(suite_dir: str | Path, records: Sequence[Record], method: str,
                 path: str | Path) -> Path | None:
    """Images of one method over a 3-objective simplex grid, each drawn at its w (framed in
    red where its adherence fell below the base model's, as in the slider strips)."""
    recs = [r for r in records if r["method"] == method]
    if not recs or len(recs[0]["w"]) != 3:
        return None
    cells = _first_seed_cells(Path(suite_dir), recs).get(method)
    if not cells:
        note(f"no sample strips for {method}: simplex grid skipped")
        return None
    xy = np.array([simplex_position(w) for w, _, _ in cells])
    gaps = [np.linalg.norm(a - b) for i, a in enumerate(xy) for b in xy[i + 1:]]
    size = 0.9 * min([g for g in gaps if g > 1e-9] or [0.3])
    fig, ax = plt.subplots(figsize=(7, 6.4))
    for (x, y), (_, tile, low) in zip(xy, cells, strict=True):
        if tile is None:
            ax.add_patch(Rectangle((x - size / 2, y - size / 2), size, size, fill=False,
                                   edgecolor="grey", linestyle="--"))
            ax.text(x, y, "missing", ha="center", va="center", fontsize=6, color="grey")
            continue
        ax.imshow(tile, extent=(x - size / 2, x + size / 2, y - size / 2, y + size / 2))
        if low:
            ax.add_patch(Rectangle((x - size / 2, y - size / 2), size, size, fill=False,
                                   edgecolor="red", linewidth=1.5))
    corners = [(0.0, -0.7 * size), (1.0, -0.7 * size), (0.5, np.sqrt(3) / 2 + 0.7 * size)]
    for name, (x, y) in zip(recs[0]["objectives"], corners, strict=True):
        ax.text(x, y, name, ha="center", va="center", fontsize=10)
    ax.set_xlim(-size, 1 + size)
    ax.set_ylim(-size, np.sqrt(3) / 2 + size)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"{method}: images across the preference simplex", fontsize=10)
    return save_figure(fig, path)
