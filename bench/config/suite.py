"""A suite's settings, read from its Hydra config and checked before any work starts.

Every check fails with a one-line `SuiteError` naming what is wrong and what is allowed.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

import baselines  # noqa: F401  (registers the baseline methods)
from bench.config.eval_spec import EvalSpec
from bench.config.plugins import import_modules
from bench.config.suite_files import SUITE_CONF, SuiteError, read_suite_file  # noqa: F401
from paretoslider.methods import METHODS, SuiteContext
from paretoslider.preferences import eval_grid, validate_w
from paretoslider.registry import PluginError
from paretoslider.rewards.base import REWARDS
from paretoslider.trainer.config import TrainConfig
from paretoslider.worlds import WORLDS, build_world


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
    # further prompt-adherence scorers, evaluated and reported beside `adherence`
    adherence_extra: list[str] = field(default_factory=list)
    world: str = "shapes"
    world_options: dict = field(default_factory=dict)
    method_options: dict = field(default_factory=dict)
    eval_prompts: list[str] | None = None  # prompts evaluated (default: the training prompts)
    checkpoints: list[float] = field(default_factory=lambda: [1.0])  # budget fractions evaluated
    # of those, the ones evaluated (default: all); the runs keep every checkpoint either way,
    # so they stay the same runs (unit keys) as a suite that evaluates them all
    eval_checkpoints: list[float] | None = None
    ideal_box: dict | None = None  # {"train": [[lo, hi], ...], "heldout": ...}, normalised
    oracle: str | None = None  # the suite holding this one's oracle runs
    imports: list[str] = field(default_factory=list)  # modules every process imports first
    # suites of one cache group share their trained units (keyed by config hash): a frontier
    # point and a headline run at the same setting and seed are one run
    cache_group: str | None = None
    # the seeds the method settings were chosen on (`bench.tune` writes them): the report
    # shows the other, fresh seeds apart, so a selection bias is visible
    chosen_on_seeds: list[int] | None = None

    @property
    def M(self) -> int:
        return len(self.objectives)

    def build_world(self):
        return build_world(self.world, **self.world_options)

    def eval_ws(self) -> np.ndarray:
        """The evaluation grid; `grid.n` is points (M = 2) or Das-Dennis partitions (M > 2)."""
        return np.round(eval_grid(self.M, **self.grid).double().numpy(), 6)

    def evaluated_checkpoints(self) -> list[float]:
        """The budget fractions whose weights are evaluated, the final one first."""
        return sorted(self.eval_checkpoints or self.checkpoints, reverse=True)

    def train_config(self) -> TrainConfig:
        return TrainConfig(**self.trainer)

    def evaluation_prompts(self) -> list[str]:
        return list(self.eval_prompts or self.prompts)

    def eval_noise_seed(self, seed: int) -> int:
        """Evaluation noise is drawn per seed (shared by every method of that seed)."""
        return int(self.eval["noise_seed"]) + int(seed)

    def eval_spec(self, seed: int) -> EvalSpec:
        return EvalSpec(self.evaluation_prompts(),
                        **{**self.eval, "noise_seed": self.eval_noise_seed(seed)})

    def context(self, seed: int) -> SuiteContext:
        cfg = replace(self.train_config(), seed=int(seed), objectives=tuple(self.objectives))
        return SuiteContext(
            objectives=tuple(self.objectives), base_cfg=cfg,
            fixed_grid=[tuple(w) for w in self.fixed_grid],
            budget_passes=self.budget.get("passes"),
            budget_regime=self.budget.get("regime", "equal_total"),
            options=dict(self.method_options), n_prompts=len(self.prompts),
            eval_grid=[tuple(float(x) for x in w) for w in self.eval_ws()],
        )

    def adherence_scorers(self) -> list[str]:
        """The prompt-adherence scorers: `adherence` first, then `adherence_extra`."""
        return list(dict.fromkeys([*([self.adherence] if self.adherence else []),
                                   *self.adherence_extra]))

    def scorers(self) -> list[str]:
        """Every reward the evaluation scores: training objectives, held-out twins, adherence."""
        names = [*self.objectives, *self.heldout]
        return names + [n for n in self.adherence_scorers() if n not in names]


def _check_names(kind: str, names: list[str], registry) -> None:
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise SuiteError(f"unknown {kind} {', '.join(map(repr, unknown))}; known: "
                         f"{', '.join(registry.names())}")


def load_suite(raw: dict[str, Any], only_methods: list[str] | None = None,
               only_seeds: list[int] | None = None) -> Suite:
    """Build and validate a Suite from a plain dict (Hydra's suite node, resolved).
    `only_methods` / `only_seeds` restrict what this invocation runs; the configuration (and
    its hash) stays the suite's, so a later run without them resumes the rest."""
    allowed = {f.name for f in fields(Suite)}
    extra = sorted(set(raw) - allowed)
    if extra:
        raise SuiteError(f"unknown suite keys {extra}; allowed: {sorted(allowed)}")
    try:  # first: the modules may register the methods, rewards or world the suite names
        import_modules(raw.get("imports"))
        for registry in (METHODS, WORLDS, REWARDS):  # installed entry points, loaded now
            registry.load_plugins()
    except PluginError as exc:
        raise SuiteError(str(exc)) from None
    try:
        suite = Suite(**raw)
    except TypeError as exc:
        raise SuiteError(f"suite config incomplete: {exc}") from None
    if only_methods:
        _check_names("method in only_methods", list(only_methods), METHODS)
        suite.methods = [m for m in suite.methods if m in only_methods] or list(only_methods)
    _validate(suite)
    if only_seeds:
        outside = sorted(set(only_seeds) - set(suite.seeds))
        if outside:
            raise SuiteError(f"only_seeds {outside} are not among the suite's seeds "
                             f"{suite.seeds}; add them with suite.seeds=[...]")
        suite.seeds = [s for s in suite.seeds if s in set(only_seeds)]
    return suite


def _validate(s: Suite) -> None:
    if s.M < 2:
        raise SuiteError(f"suite {s.name} needs at least 2 objectives, got {s.objectives}")
    _check_names("world", [s.world], WORLDS)
    try:
        world = s.build_world()
    except (TypeError, ValueError) as exc:
        raise SuiteError(f"world_options: {exc}") from None
    if not isinstance(s.adherence_extra, list) or not all(
            isinstance(n, str) and n for n in s.adherence_extra):
        raise SuiteError(f"adherence_extra must be a list of reward names, got "
                         f"{s.adherence_extra!r}")
    trained = [n for n in s.adherence_scorers() if n in s.objectives]
    if trained:  # an adherence measure that training optimises can be gamed unseen
        raise SuiteError(f"adherence scorer {', '.join(map(repr, trained))} is also an "
                         "objective; adherence is measured by scorers training never sees")
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
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and -1.0 <= x < 1.0
               for x in s.ref_point):
        raise SuiteError(f"ref_point {s.ref_point} must lie in the normalised space: each "
                         "entry in [-1, 1) (scores are normalised to [0, 1] and maximised)")
    for w in s.fixed_grid:
        try:
            validate_w(w, s.M)
        except ValueError as exc:
            raise SuiteError(f"fixed_grid: {exc}") from None
    passes = s.budget.get("passes")
    if passes is not None and not _is_int(passes, low=1):
        raise SuiteError(f"budget.passes must be > 0 (an integer), got {passes!r}")
    if s.budget.get("regime", "equal_total") not in ("equal_total", "per_model"):
        raise SuiteError(f"budget.regime must be equal_total or per_model, got {s.budget['regime']}")
    if not s.seeds:
        raise SuiteError("seeds is empty")
    if not all(_is_int(x, low=0) for x in s.seeds) or len(set(s.seeds)) != len(s.seeds):
        raise SuiteError(f"seeds must be distinct integers >= 0, got {s.seeds}")
    if s.chosen_on_seeds is not None and not all(_is_int(x, low=0) for x in s.chosen_on_seeds):
        raise SuiteError(f"chosen_on_seeds must be integers >= 0, got {s.chosen_on_seeds}")
    if s.grid.get("kind", "uniform") not in ("uniform", "anchored"):
        raise SuiteError(f"grid.kind must be uniform or anchored, got {s.grid.get('kind')!r}")
    if not (s.grid.get("kind") == "anchored" and s.M >= 3) and not _is_int(s.grid.get("n"),
                                                                         low=2):
        raise SuiteError(f"grid.n must be an integer >= 2, got {s.grid.get('n')!r}")
    try:
        spec = EvalSpec(s.prompts, **s.eval)
    except TypeError as exc:
        raise SuiteError(f"eval: {exc}") from None
    if not _is_int(spec.samples_per_prompt, low=1) or not _is_int(spec.steps, low=1):
        raise SuiteError(f"eval.samples_per_prompt and eval.steps must be integers >= 1, got "
                         f"{spec.samples_per_prompt!r} and {spec.steps!r}")
    if not s.prompts:
        raise SuiteError("prompts is empty")
    check = getattr(world, "check_prompt", None)
    for prompt in ([*s.prompts, *(s.eval_prompts or [])] if check else []):
        try:
            check(prompt)
        except ValueError as exc:
            raise SuiteError(f"prompt: {exc}") from None
    if s.cache_group is not None and not (isinstance(s.cache_group, str)
                                          and s.cache_group.replace("_", "").isalnum()):
        raise SuiteError(f"cache_group must be a name of letters, digits and _, got "
                         f"{s.cache_group!r}")
    _validate_evaluation(s)
    try:
        s.train_config()
    except (TypeError, ValueError) as exc:
        raise SuiteError(f"trainer: {exc}") from None
    _validate_units(s)


def _validate_units(s: Suite) -> None:
    """Each method's runs for each seed can be planned: its registered name matches the one
    its records will carry, its budget pays for an epoch, its external files exist."""
    for name in s.methods:
        method = METHODS.get(name)()
        if method.name != name:
            raise SuiteError(f"method registered as {name!r} calls itself {method.name!r}; "
                             "set its `name` to the registered name")
        for seed in s.seeds:
            try:
                method.units(s.context(seed))
            except (ValueError, TypeError, KeyError, OSError) as exc:
                why = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
                raise SuiteError(f"method {name}: {why}") from None


def _validate_evaluation(s: Suite) -> None:
    """The keys that say what is evaluated: eval_prompts, checkpoints, ideal_box, oracle."""
    if s.eval_prompts is not None and (not s.eval_prompts or not all(
            isinstance(p, str) and p for p in s.eval_prompts)):
        raise SuiteError(f"eval_prompts must be a non-empty list of prompts, got {s.eval_prompts}")
    strip = s.eval.get("strip_prompt")
    if strip is not None and strip not in s.evaluation_prompts():
        raise SuiteError(f"eval.strip_prompt {strip!r} is not an evaluation prompt; "
                         f"evaluated: {s.evaluation_prompts()}")
    cps = s.checkpoints
    if not cps or not all(isinstance(f, (int, float)) and not isinstance(f, bool) and 0 < f <= 1
                          for f in cps) or 1.0 not in cps or len(set(cps)) != len(cps):
        raise SuiteError(f"checkpoints must be distinct budget fractions in (0, 1] including "
                         f"1.0, got {cps}")
    ecps = s.eval_checkpoints
    if ecps is not None and (not isinstance(ecps, list) or 1.0 not in ecps
                             or not set(ecps) <= set(cps)):
        raise SuiteError(f"eval_checkpoints must be some of checkpoints {cps}, including 1.0, "
                         f"got {ecps}")
    if s.ideal_box is not None:
        for part, box in s.ideal_box.items():
            if part not in ("train", "heldout") or len(box) != s.M or not all(
                    len(b) == 2 and b[0] < b[1] for b in box):
                raise SuiteError(f"ideal_box.{part} must be {s.M} [lo, hi] pairs (lo < hi) "
                                 "under the keys train / heldout")
    if s.oracle is not None and not (SUITE_CONF / f"{s.oracle}.yaml").is_file():
        raise SuiteError(f"oracle names no suite: {s.oracle!r}")


def _is_int(value, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def check_same_config(records: Path, config_hash: str, suite: str | None = None) -> None:
    """Refuse to add cells to records made under another configuration or world (another
    base model or judges): a resumed run would otherwise mix the two silently. Lines that are
    no cell record of this suite, or that conflict, are named with the remedy."""
    from bench.store.records import REJECTED, audit, problems_line, read_numbered

    numbered = read_numbered(records)
    _, problems = audit(numbered, suite, config_hash)
    other = [(n, why) for n, why in problems if "another configuration" in why]
    if other and len(other) == len(numbered):
        first = next(r for n, r in numbered if n == other[0][0])
        raise SuiteError(f"{records} holds records of another configuration or base model "
                         f"(config hash {str(first.get('config_hash'))[:12]}, this run "
                         f"{config_hash[:12]}); move that folder away or set results_dir")
    if problems:
        raise SuiteError(problems_line(
            records, problems, f"the other records are kept; to move these lines to {REJECTED} "
            f"and go on: `python -m bench.report suite={records.parent.name} "
            f"results_dir={records.parent.parent} repair=true`, then run the same command"))


def check_writable(directory: Path, what: str = "results directory") -> None:
    """Create the directory and prove a file can be written there (root ignores mode bits)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe"):
            pass
    except OSError as exc:
        raise SuiteError(f"{what} {directory} is not writable: {exc.strerror}") from None


# the longest path a run writes below a results or cache folder, beyond the method names:
# samples/<method>/seed<s>_w<i>.png, <unit key>/ckpt/snapshot_<f>.safetensors and temporaries
DEEPEST = 96


def check_path_lengths(suite: Suite, *folders: Path) -> None:
    """Refuse folders so deep that a file the run writes later would exceed the system's limit
    on a path (ENAMETOOLONG after hours of training)."""
    longest = max(len(m) for m in suite.methods) * 2 + DEEPEST
    for folder in folders:
        full = Path(os.path.abspath(folder))  # no system call: a too-long path cannot resolve
        existing = next(p for p in [full, *full.parents] if os.path.exists(p))
        limit = os.pathconf(existing, "PC_PATH_MAX")
        if len(str(full)) + longest > limit:
            raise SuiteError(f"{folder} is too deep ({len(str(full))} characters; "
                             f"files below it need about {longest} more, the limit is {limit}); "
                             "choose a shorter results_dir or cache_dir")
