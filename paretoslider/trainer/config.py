"""Training configuration and its hash (what a checkpoint must match to be resumed)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from paretoslider.checkpoint import dict_hash
from paretoslider.conditioning import PROJECTORS
from paretoslider.samplers import GRIDS, SOLVERS

# bare names: on SD3.5 they also match the second attention (attn2) of blocks 0-12
SD3_LORA_TARGETS = (
    "to_q", "to_k", "to_v", "to_out.0", "add_q_proj", "add_k_proj", "add_v_proj", "to_add_out",
)
# the joint attention's projections only (the authors' list: 191 modules on SD3.5-Medium)
SD3_JOINT_ATTENTION_TARGETS = tuple(f"attn.{name}" for name in SD3_LORA_TARGETS)
LOSSES = ("nft", "nft_single", "grpo")
SCALARISATIONS = ("late", "early")
TIMESTEP_SELECTIONS = ("leading", "random")
ROLLOUT_POLICIES = ("current", "old")
# fields that change neither the trajectory nor the result, so a resumed run may differ in them
UNHASHED = ("epochs", "threads", "budget_passes", "progress", "reward_batch")
# fields added after runs were cached: hashed only away from their default, so every key
# (unit folders, checkpoints) made before they existed stays the same
HASHED_WHEN_SET = (
    "time_grid", "timestep_selection", "solver", "rollout_policy", "distinct_slots",
    "block_projector", "init_lora", "mixed_precision", "eval_ema",
)


@dataclass
class TrainConfig:
    epochs: int = 10
    # optimiser
    lr: float = 3e-4
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    # data per epoch: prompts x K preferences x G images
    K: int = 3
    G: int = 8
    prompts_per_epoch: int | None = None  # None: every prompt each epoch
    sampling_steps: int = 10
    shift: float = 1.0
    # rollout and update: "uniform" grid | "scheduler" (SD3's FlowMatchEuler grid)
    time_grid: str = "uniform"
    solver: str = "euler"  # "euler" | "dpm2": the ODE rollout's solver (grpo keeps its SDE)
    rollout_policy: str = "current"  # "current" | "old" (the EMA old policy); NFT losses only
    # update
    loss: str = "nft"  # "nft" | "nft_single" | "grpo"
    scalarisation: str = "late"  # "late" | "early"
    nft_beta: float = 0.1
    lambda_ref: float = 1e-4
    clip_range: float = 1e-4  # grpo; acts only with steps_per_epoch > 1 (first ratio is 1)
    kl_beta: float = 0.04  # grpo
    noise_level: float = 0.7  # grpo's SDE sampler
    timestep_fraction: float = 0.99
    timesteps_per_sample: int | None = None  # None: all train timesteps
    # "leading": the first int(steps * fraction) grid times; "random": that many of all
    # `sampling_steps` grid times, drawn anew per sample (the last step before t = 0 included)
    timestep_selection: str = "leading"
    # trained weights in float32 under the model's autocast, NFT loss in float64
    mixed_precision: bool = False
    # evaluate (and snapshot) an EMA of the policy, decay min((1 + s) / (10 + s), 0.9)
    eval_ema: bool = False
    minibatch: int = 64
    steps_per_epoch: int = 1  # optimizer steps per epoch (gradients accumulated in between)
    # preferences
    objectives: tuple[str, ...] = ()  # names, for logs; default: the rewards' names
    w_sampler: str = "structured"  # "structured" | "dirichlet" | "fixed"
    w_alpha: float = 1.0
    w_fixed: tuple[float, ...] | None = None
    w_conditioned: bool = True  # False: the policy never sees w (fixed-weight baselines)
    preference_mode: str = "both"
    distinct_slots: bool = True  # False: a prompt's K draws may repeat (corners, at M >= 3)
    block_projector: str = "zero"  # "zero" (last layer zero: starts at the reference) | "authors"
    # what is trained
    full_finetune: bool = False
    lora_rank: int = 32
    lora_alpha: int = 64
    lora_targets: tuple[str, ...] = field(default=SD3_LORA_TARGETS)
    init_lora: str | None = None  # LoRA weights (file or folder): start and frozen reference
    # run
    threads: int = 1
    seed: int = 0
    budget_passes: int | None = None  # stop before forward + backward passes exceed it
    progress: bool = True
    # score the epoch's images this many at a time (bounds the reward models' memory: an
    # SD3.5 epoch is 1,152 images); None: all at once. The scores are the same either way
    reward_batch: int | None = None

    def __post_init__(self):
        for f in fields(self):  # numbers from a command line or YAML may arrive as text
            value = getattr(self, f.name)
            kinds = {"int": (int,), "float": (int, float)}.get(str(f.type).removesuffix(" | None"))
            if kinds and not (value is None and "None" in str(f.type)) and (
                    isinstance(value, bool) or not isinstance(value, kinds)):
                kind = "an integer" if kinds == (int,) else "a number"
                raise ValueError(f"{f.name} must be {kind}, got {value!r}")
        for name in ("lr", "grad_clip", "nft_beta", "clip_range"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("weight_decay", "lambda_ref", "kl_beta", "noise_level", "w_alpha", "epochs"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; known: {', '.join(LOSSES)}")
        if self.scalarisation not in SCALARISATIONS:
            raise ValueError(
                f"unknown scalarisation {self.scalarisation!r}; known: {', '.join(SCALARISATIONS)}"
            )
        if self.loss == "nft_single" and self.scalarisation == "early":
            raise ValueError(
                "loss 'nft_single' sums per-objective advantages: use scalarisation 'late'"
            )
        if self.budget_passes is not None and self.budget_passes <= 0:
            raise ValueError(f"budget_passes must be > 0, got {self.budget_passes}")
        for name in ("K", "G", "sampling_steps", "minibatch", "steps_per_epoch", "threads",
                     "lora_rank"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.timestep_fraction <= 1:
            raise ValueError(f"timestep_fraction must be in (0, 1], got {self.timestep_fraction}")
        if self.w_sampler == "fixed" and self.w_fixed is None:
            raise ValueError("w_sampler 'fixed' needs w_fixed")
        for name, known in (("time_grid", GRIDS), ("solver", SOLVERS),
                            ("timestep_selection", TIMESTEP_SELECTIONS),
                            ("rollout_policy", ROLLOUT_POLICIES), ("block_projector", PROJECTORS)):
            if getattr(self, name) not in known:
                value = getattr(self, name)
                raise ValueError(f"unknown {name} {value!r}; known: {', '.join(known)}")
        flags = ("distinct_slots", "mixed_precision", "eval_ema")
        not_bool = [n for n in flags if type(getattr(self, n)) is not bool]
        if not_bool:
            value = getattr(self, not_bool[0])
            raise ValueError(f"{not_bool[0]} must be true or false, got {value!r}")
        if self.init_lora is not None:
            if self.full_finetune:
                raise ValueError("init_lora starts LoRA training: it cannot go with full_finetune")
            if not Path(self.init_lora).exists():
                raise ValueError(f"init_lora {self.init_lora!r} does not exist")
        self.objectives = tuple(self.objectives)
        self.lora_targets = tuple(self.lora_targets)
        if self.w_fixed is not None:
            self.w_fixed = tuple(float(x) for x in self.w_fixed)

    @property
    def batch_per_prompt(self) -> int:
        return self.K * self.G

    def train_timesteps(self) -> int:
        """How many of the sampler's steps are trained: the first 99% of the grid, at least 1."""
        return max(1, int(self.sampling_steps * self.timestep_fraction))

    def timesteps_used(self) -> int:
        n = self.train_timesteps()
        return n if self.timesteps_per_sample is None else min(n, self.timesteps_per_sample)

    def timestep_pool(self) -> int:
        """How many grid times a sample's trained timesteps are drawn from."""
        random = self.timestep_selection == "random"
        return self.sampling_steps if random else self.train_timesteps()


_DEFAULTS = {f.name: f.default for f in fields(TrainConfig) if f.name in HASHED_WHEN_SET}


def config_hash(cfg: TrainConfig, extra: dict | None = None) -> str:
    """sha256 (16 hex digits) of the result-relevant config fields plus `extra` (JSON-able)."""
    values = {k: v for k, v in asdict(cfg).items() if k not in UNHASHED
              and not (k in _DEFAULTS and v == _DEFAULTS[k])}
    return dict_hash({"config": values, "extra": extra or {}})
