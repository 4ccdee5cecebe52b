"""A suite's settings, read from its Hydra config and checked before any work starts.

Every check fails with a one-line `SuiteError` naming what is wrong and what is allowed.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

import baselines  # noqa: F401  (registers the baseline methods)
from paretoslider.methods import METHODS, SuiteContext
from paretoslider.preferences import eval_grid, validate_w
from paretoslider.trainer.config import TrainConfig
from paretoslider.worlds import WORLDS, build_world


class SuiteError(ValueError):
    """A suite that cannot run as configured."""


@dataclass
class Suite:
    name: str
    objectives: list[str]
    heldout: list[str]
    methods: list[str]
    seeds: list[int]
    prompts: list[str]
    ref_point: list[float]
    fixed_grid: list[list[float]]
    grid: dict
    eval: dict
    budget: dict
    trainer: dict
    adherence: str | None = None
    world: str = "shapes"
    world_options: dict = field(default_factory=dict)
    method_options: dict = field(default_factory=dict)

    @property
    def M(self) -> int:
        return len(self.objectives)

    def build_world(self):
        return build_world(self.world, **self.world_options)

    def eval_ws(self) -> np.ndarray:
        """The evaluation grid; `grid.n` is points (M = 2) or Das-Dennis partitions (M > 2)."""
        return np.round(eval_grid(self.M, **self.grid).double().numpy(), 6)

    def train_config(self) -> TrainConfig:
        return TrainConfig(**self.trainer)

    def context(self, seed: int) -> SuiteContext:
        cfg = replace(self.train_config(), seed=int(seed), objectives=tuple(self.objectives))
        return SuiteContext(
            objectives=tuple(self.objectives), base_cfg=cfg,
            fixed_grid=[tuple(w) for w in self.fixed_grid],
            budget_passes=self.budget.get("passes"),
            budget_regime=self.budget.get("regime", "equal_total"),
            options=dict(self.method_options), n_prompts=len(self.prompts),
        )

    def scorers(self) -> list[str]:
        """Every reward the evaluation scores: training objectives, held-out twins, adherence."""
        names = [*self.objectives, *self.heldout]
        if self.adherence and self.adherence not in names:
            names.append(self.adherence)
        return names


def _check_names(kind: str, names: list[str], registry) -> None:
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise SuiteError(f"unknown {kind} {', '.join(map(repr, unknown))}; known: "
                         f"{', '.join(registry.names())}")


def load_suite(raw: dict[str, Any], only_methods: list[str] | None = None) -> Suite:
    """Build and validate a Suite from a plain dict (Hydra's suite node, resolved)."""
    allowed = {f.name for f in fields(Suite)}
    extra = sorted(set(raw) - allowed)
    if extra:
        raise SuiteError(f"unknown suite keys {extra}; allowed: {sorted(allowed)}")
    try:
        suite = Suite(**raw)
    except TypeError as exc:
        raise SuiteError(f"suite config incomplete: {exc}") from None
    if only_methods:
        suite.methods = [m for m in suite.methods if m in only_methods] or list(only_methods)
    _validate(suite)
    return suite


def _validate(s: Suite) -> None:
    if s.M < 2:
        raise SuiteError(f"suite {s.name} needs at least 2 objectives, got {s.objectives}")
    _check_names("world", [s.world], WORLDS)
    try:
        world = s.build_world()
    except (TypeError, ValueError) as exc:
        raise SuiteError(f"world_options: {exc}") from None
    known = world.reward_names()
    unknown = [n for n in s.scorers() if n not in known]
    if unknown:
        raise SuiteError(f"unknown reward {', '.join(map(repr, unknown))} in world {s.world}; "
                         f"known: {', '.join(known)}")
    _check_names("method", s.methods, METHODS)
    if len(s.heldout) != s.M:
        raise SuiteError(f"heldout has {len(s.heldout)} judges for {s.M} objectives")
    if len(s.ref_point) != s.M:
        raise SuiteError(f"ref_point has {len(s.ref_point)} entries for {s.M} objectives")
    for w in s.fixed_grid:
        try:
            validate_w(w, s.M)
        except ValueError as exc:
            raise SuiteError(f"fixed_grid: {exc}") from None
    passes = s.budget.get("passes")
    if passes is not None and passes <= 0:
        raise SuiteError(f"budget.passes must be > 0, got {passes}")
    if s.budget.get("regime", "equal_total") not in ("equal_total", "per_model"):
        raise SuiteError(f"budget.regime must be equal_total or per_model, got {s.budget['regime']}")
    if not s.seeds:
        raise SuiteError("seeds is empty")
    if not s.prompts:
        raise SuiteError("prompts is empty")
    try:
        s.train_config()
    except (TypeError, ValueError) as exc:
        raise SuiteError(f"trainer: {exc}") from None


def check_same_config(records: Path, config_hash: str) -> None:
    """Refuse to add cells to records made under another configuration or world (another
    base model or judges): a resumed run would otherwise mix the two silently."""
    from bench.records import read_records

    others = {r.get("config_hash") for r in read_records(records)} - {config_hash}
    if others:
        raise SuiteError(f"{records} holds records of another configuration or base model "
                         f"(config hash {min(map(str, others))[:12]}, this run "
                         f"{config_hash[:12]}); move that folder away or set results_dir")


def check_writable(directory: Path) -> None:
    """Create the directory and prove a file can be written there (root ignores mode bits)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe"):
            pass
    except OSError as exc:
        raise SuiteError(f"results directory {directory} is not writable: {exc.strerror}") from None
