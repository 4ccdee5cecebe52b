"""Is an objective set a real M-dimensional trade-off? Checks on base-model samples.

For a set of rewards scored on the same base-model samples, each normalised by its declared
range:
- conflict: every pair correlates negatively (raising one tends to lower the other);
- complementarity: no pair sums to a near-constant (relative complement gap, see
  `complement_gap`, below COMPLEMENT_GAP); two such rewards are one axis, their front a line;
- volume: each objective spreads over at least MIN_SPREAD of its range (5th-95th percentile),
  and the hypervolume of the samples' non-dominated set above the reference point, a proxy
  for what single-objective runs can reach; `side` = HV^(1/M) compares it across M.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import moocore
import numpy as np

COMPLEMENT_GAP = 0.25  # equal spreads: sqrt((1 + rho) / 2) < 0.25 means rho < -0.875
MIN_SPREAD = 0.2
SUITE_DIR = Path(__file__).resolve().parents[2] / "bench" / "conf" / "suite"


def complement_gap(a: np.ndarray, b: np.ndarray) -> float | None:
    """std(a + b) / (std a + std b): 0 for b = c - a, 1 for b = a, ~0.7 for independent
    rewards of equal spread; None where both are constant."""
    spread = a.std() + b.std()
    return None if spread <= 1e-12 else round(float((a + b).std() / spread), 4)


def nondominated_hv(points: np.ndarray, ref) -> float:
    """Hypervolume (maximisation) of the points above `ref`; points not beating it add 0."""
    ref = np.asarray(ref, dtype=float)
    keep = points[np.all(points > ref, axis=1)]
    if len(keep) == 0:
        return 0.0
    return float(moocore.hypervolume(-keep, ref=-ref))


def analyse_set(norm: dict[str, np.ndarray], ref=None) -> dict:
    """The three checks for one objective set; `norm` maps names to normalised (N,) scores."""
    names = list(norm)
    ref = np.zeros(len(names)) if ref is None else np.asarray(ref, dtype=float)
    pairs = {}
    for a, b in itertools.combinations(names, 2):
        corr = np.corrcoef(norm[a], norm[b])[0, 1]
        pairs[f"{a}+{b}"] = {"corr": None if np.isnan(corr) else round(float(corr), 4),
                             "gap": complement_gap(norm[a], norm[b])}
    spread = {n: round(float(np.percentile(v, 95) - np.percentile(v, 5)), 4)
              for n, v in norm.items()}
    hv = nondominated_hv(np.stack([np.clip(norm[n], 0, 1) for n in names], axis=1), ref)
    conflict = all(p["corr"] is not None and p["corr"] < 0 for p in pairs.values())
    complementary = [k for k, p in pairs.items() if p["gap"] is not None
                     and p["gap"] < COMPLEMENT_GAP]
    return {"objectives": names, "pairs": pairs, "spread": spread, "hv": round(hv, 5),
            "side": round(hv ** (1 / len(names)), 4), "all_conflict": conflict,
            "complementary": complementary,
            "volume": min(spread.values()) >= MIN_SPREAD and hv > 0,
            "passed": conflict and not complementary and min(spread.values()) >= MIN_SPREAD}


def suite_objective_sets(directory: Path = SUITE_DIR, world: str = "shapes") -> dict:
    """{suite name: (objectives, held-out twins, ref point)} of the world's suite files."""
    from omegaconf import OmegaConf

    out = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        raw = OmegaConf.to_container(OmegaConf.load(path))
        if raw.get("world", "shapes") == world and "objectives" in raw:
            out[raw["name"]] = (raw["objectives"], raw["heldout"], raw.get("ref_point"))
    return out


def format_set(name: str, rep: dict, twins: dict[str, float] | None = None) -> list[str]:
    verdict = "passes" if rep["passed"] else "FAILS"
    pairs = ", ".join(rep["complementary"]) or "none"
    head = (f"  {name}: {', '.join(rep['objectives'])} -> {verdict} (all pairs conflict: "
            f"{rep['all_conflict']}; complementary: {pairs}; "
            f"HV {rep['hv']:.4f}, HV^(1/M) {rep['side']:.3f})")
    lines = [head]
    for pair, p in rep["pairs"].items():
        gap = "n/a" if p["gap"] is None else f"{p['gap']:.2f}"
        corr = "n/a" if p["corr"] is None else f"{p['corr']:+.2f}"
        lines.append(f"    {pair:32s} corr {corr:>6s}  complement gap {gap:>5s}")
    lines.append("    5-95% spread of normalised scores: " + "  ".join(
        f"{k} {v:.2f}" for k, v in rep["spread"].items()))
    if twins:
        lines.append("    corr with held-out twin: " + "  ".join(
            f"{k} {'n/a' if v is None else format(v, '.2f')}" for k, v in twins.items()))
    return lines
