"""Preference vectors w on the simplex: validation, training samplers and evaluation grids.

Training samplers are deterministic functions of (prompt, epoch, slot) through a stable hash
(sha256, not Python's salted `hash`), so an interrupted run resumes with the same draws and
every worker of a distributed run agrees on them without communication.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np
import torch

SUM_TOL = 1e-6


def validate_w(w, num_objectives: int | None = None) -> torch.Tensor:
    """Return w as a float tensor (..., M) after checking it lies on the simplex.

    Raises ValueError (one line) on a wrong width, a non-finite or negative entry, or a row
    whose sum is not 1 within 1e-6.
    """
    t = torch.as_tensor(w, dtype=torch.float32)
    if t.dim() == 0:
        raise ValueError("w must have at least one dimension (..., M), got a scalar")
    m = t.shape[-1]
    if num_objectives is not None and m != num_objectives:
        raise ValueError(f"w has {m} entries per row but there are {num_objectives} objectives")
    if m == 0:
        raise ValueError("w has zero entries per row")
    if not torch.isfinite(t).all():
        raise ValueError(f"w has non-finite entries: {t.tolist()}")
    if (t < 0).any():
        raise ValueError(f"w has negative entries (min {t.min().item():.3g}); w must be >= 0")
    err = (t.double().sum(-1) - 1).abs().max().item()
    if err > SUM_TOL:
        raise ValueError(f"w rows must sum to 1 within {SUM_TOL:g}; worst row is off by {err:.3g}")
    return t


def stable_seed(*parts) -> int:
    """A 63-bit seed from the parts' text, identical across processes and Python versions."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def _to_simplex(x: np.ndarray) -> np.ndarray:
    # float64 renormalisation keeps float32 rows within SUM_TOL of 1
    x = np.asarray(x, dtype=np.float64)
    return x / x.sum()


def draw_structured(num_objectives: int, rng: np.random.Generator) -> np.ndarray:
    """One w from METHOD.md's mixture (corners / edges / interior)."""
    m = num_objectives
    if m == 1:
        return np.ones(1)
    u = rng.random()
    if m == 2:
        if u < 0.10:
            return np.eye(2)[rng.integers(2)]
        return _to_simplex(rng.dirichlet([1.0, 1.0]))
    if u < 0.50:
        return np.eye(m)[rng.integers(m)]
    if u < 0.85:
        pair = rng.choice(m, size=2, replace=False)
        w = np.zeros(m)
        w[pair] = rng.dirichlet([1.0, 1.0])
        return _to_simplex(w)
    return _to_simplex(rng.dirichlet(np.ones(m)))


class WSampler:
    """Draws K distinct preference vectors for a prompt at an epoch: `(K, M)` float tensor.

    With `distinct = False` each slot keeps its first draw, so a prompt's slots may repeat a
    corner (the authors' sampler: at M = 3, 22% of prompts, and a vertex share of 50% where
    redrawing gives 45%)."""

    distinct = True

    def __init__(self, num_objectives: int, seed: int = 0):
        if num_objectives < 1:
            raise ValueError(f"num_objectives must be >= 1, got {num_objectives}")
        self.num_objectives = num_objectives
        self.seed = seed

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, prompt: str, epoch: int, k: int) -> torch.Tensor:
        rows: list[np.ndarray] = []
        for slot in range(k):
            for attempt in range(1000):
                rng = np.random.default_rng(stable_seed(self.seed, prompt, epoch, slot, attempt))
                w = self.draw(rng)
                # corners repeat with positive probability: redraw so the K groups differ
                if not self.distinct or all(np.abs(w - r).max() > 1e-9 for r in rows):
                    break
            else:
                raise ValueError(f"could not draw {k} distinct w for M={self.num_objectives}")
            rows.append(w)
        return validate_w(torch.tensor(np.stack(rows), dtype=torch.float32), self.num_objectives)


class StructuredSampler(WSampler):
    """METHOD.md's training mixture: M=2 10% corners + 90% Dirichlet(1,1); M>=3 50/35/15."""

    def draw(self, rng):
        return draw_structured(self.num_objectives, rng)


class DirichletSampler(WSampler):
    def __init__(self, num_objectives: int, alpha: float | Sequence[float] = 1.0, seed: int = 0):
        super().__init__(num_objectives, seed)
        a = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (num_objectives,))
        if (a <= 0).any():
            raise ValueError(f"Dirichlet alpha must be > 0, got {alpha}")
        self.alpha = a.copy()

    def draw(self, rng):
        return _to_simplex(rng.dirichlet(self.alpha))


class FixedSampler(WSampler):
    """Always the same w (fixed-weight baselines); its K rows are identical by design."""

    distinct = False

    def __init__(self, w, seed: int = 0):
        w = validate_w(w)
        if w.dim() != 1:
            raise ValueError(f"a fixed w is one vector (M,), got shape {tuple(w.shape)}")
        super().__init__(w.numel(), seed)
        self.w = w.double().numpy()

    def draw(self, rng):
        return self.w


def make_w_sampler(name: str, num_objectives: int, seed: int = 0, alpha=1.0, w=None,
                   distinct: bool = True) -> WSampler:
    """`distinct=False` lets the K slots of a prompt repeat (fixed samplers always do)."""
    if name in ("structured", "dirichlet"):
        sampler = (StructuredSampler(num_objectives, seed) if name == "structured"
                   else DirichletSampler(num_objectives, alpha, seed))
        sampler.distinct = distinct
        return sampler
    if name == "fixed":
        if w is None:
            raise ValueError("the 'fixed' w-sampler needs a w")
        sampler = FixedSampler(w, seed)
        if sampler.num_objectives != num_objectives:
            got = sampler.num_objectives
            raise ValueError(f"fixed w has {got} entries, expected {num_objectives}")
        return sampler
    raise ValueError(f"unknown w-sampler {name!r}; known: dirichlet, fixed, structured")


DEFAULT_PARTITIONS = {3: 5, 4: 4, 5: 3}


def eval_grid(num_objectives: int, n: int | None = None, kind: str = "uniform"
              ) -> torch.Tensor:
    """Evaluation preferences (N, M).

    M = 2: `n` evenly spaced points (default 11), rows (w1, 1 - w1) with w1 from 0 to 1.
    M >= 3, kind "uniform": pymoo's Das-Dennis grid with `n` partitions (default 5 for M=3
    (step 0.2), 4 for M=4, 3 for M=5, 2 beyond); kind "anchored" (`anchored_grid`): the
    vertices, edge midpoints, centroid and strictly interior points, so that every M has
    preferences that ask for every objective (`n` is not used).
    """
    m = num_objectives
    if kind not in ("uniform", "anchored"):
        raise ValueError(f"grid kind must be uniform or anchored, got {kind!r}")
    if m < 1:
        raise ValueError(f"num_objectives must be >= 1, got {m}")
    if kind == "anchored" and m >= 3:
        return anchored_grid(m)
    if m == 1:
        return torch.ones(1, 1)
    if m == 2:
        n = 11 if n is None else n
        if n < 2:
            raise ValueError(f"a 2-objective grid needs n >= 2 points, got {n}")
        w1 = torch.linspace(0.0, 1.0, n, dtype=torch.float64)
        return torch.stack([w1, 1 - w1], dim=1).float()
    from pymoo.util.ref_dirs import get_reference_directions

    n = DEFAULT_PARTITIONS.get(m, 2) if n is None else n
    if n < 1:
        raise ValueError(f"n_partitions must be >= 1, got {n}")
    grid = np.asarray(get_reference_directions("das-dennis", m, n_partitions=n), dtype=np.float64)
    grid = grid / grid.sum(1, keepdims=True)
    return validate_w(torch.tensor(grid, dtype=torch.float32), m)


def anchored_grid(m: int) -> torch.Tensor:
    """The M vertices, the M(M-1)/2 edge midpoints, the centroid, and the Das-Dennis points
    with M + 1 partitions whose entries are all positive (interior: M = 3 gives 3 more,
    M = 5 gives 5): 10 points at M = 3, 15 at M = 4, 21 at M = 5."""
    from pymoo.util.ref_dirs import get_reference_directions

    eye = np.eye(m)
    mids = [(eye[i] + eye[j]) / 2 for i in range(m) for j in range(i + 1, m)]
    dd = np.asarray(get_reference_directions("das-dennis", m, n_partitions=m + 1), dtype=float)
    interior = dd[(dd > 1e-9).all(axis=1)]
    grid = np.vstack([eye, *mids, np.full((1, m), 1.0 / m), interior])
    return validate_w(torch.tensor(grid / grid.sum(1, keepdims=True), dtype=torch.float32), m)


def grid_size(num_objectives: int, n_partitions: int) -> int:
    """Number of Das-Dennis points: C(n + M - 1, M - 1)."""
    return math.comb(n_partitions + num_objectives - 1, num_objectives - 1)
