"""Methods that train with a loss of their own on the shared sampler and cost accounting.

A custom-loss unit runs the trainer's epoch as every other unit does (sample with the
policy, score, group-normalised advantages, budget cut, checkpoints), but its update calls
a user function `loss(batch: LossBatch) -> scalar tensor` on each minibatch at one training
timestep per sample. The batch gives the samples, noise, timesteps, rewards and advantages,
and the velocities of the models the loss reads (`policy` with gradients, `old` and
`reference` without), each counted as forward passes when first asked for. Minibatches hold
whole (prompt, w) groups, so a loss can compare the G samples of a group (DPO-style pairs).

Two ways in: subclass `CustomLossMethod` (set `name`, `reads`, a static `loss`), or name a
function in the suite: `method_options: {custom_loss: {loss: "my_pkg.losses:sft"}}`.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from paretoslider.backbones.base import Cond, index_cond
from paretoslider.checkpoint import dict_hash
from paretoslider.methods import METHODS, Method, Policy, SuiteContext, Unit
from paretoslider.trainer import Trainer
from paretoslider.trainer.config import TrainConfig, config_hash
from paretoslider.trainer.update import draw_timesteps, optimizer_step

MODELS = ("policy", "old", "reference")  # what a loss may read
OPTION_KEYS = ("loss", "reads", "version")  # the rest of a method's options are trainer settings


@dataclass
class LossBatch:
    """B samples of the epoch, each at one training timestep t with fresh noise eps."""

    x0: torch.Tensor  # (B, ...) clean samples drawn by the policy, model space
    eps: torch.Tensor  # (B, ...) noise
    t: torch.Tensor  # (B,) timesteps in (0, 1)
    cond: Cond  # prompt conditioning of each row
    w: torch.Tensor  # (B, M) preference each sample was drawn at
    w_input: torch.Tensor | None  # what the models are fed (None: no w input)
    rewards: torch.Tensor  # (B, M) raw rewards
    advantages: torch.Tensor  # (B, M) group-normalised per objective
    weights: torch.Tensor  # (B, M) loss weights over the advantage columns (w: late)
    groups: torch.Tensor  # (B,) (prompt, w) group of each row; rows of a group are adjacent
    models: Any = field(repr=False)  # the TrainState
    reads: tuple[str, ...] = ("policy",)
    forward_passes: int = 0  # counted here, added to the run's cost
    _velocity: dict = field(default_factory=dict, repr=False)

    @property
    def x_t(self) -> torch.Tensor:
        """The noised sample (1 - t) x0 + t eps."""
        t = self.t.reshape(-1, *([1] * (self.x0.dim() - 1)))
        return (1 - t) * self.x0 + t * self.eps

    @property
    def target(self) -> torch.Tensor:
        """The flow-matching velocity target eps - x0."""
        return self.eps - self.x0

    def scalar_advantage(self) -> torch.Tensor:
        """(B,) sum_m weights_m advantage_m: one advantage per sample."""
        return (self.advantages * self.weights).sum(dim=1)

    def velocity(self, model: str) -> torch.Tensor:
        """v of `model` ("policy" with gradients, "old" or "reference" without) at (x_t, t);
        computed once per batch and counted as B forward passes."""
        if model not in self.reads:
            raise ValueError(f"the loss reads {model!r} but its method declares reads="
                             f"{self.reads}; add it there (the budget counts what is read)")
        if model not in self._velocity:
            net = getattr(self.models, model)
            w_in = None if model == "reference" else self.w_input
            with torch.set_grad_enabled(model == "policy"):
                self._velocity[model] = net(self.x_t, self.t, self.cond, w_in)
            self.forward_passes += len(self.t)
        return self._velocity[model]


LossFn = Callable[[LossBatch], torch.Tensor]


def resolve(path: str) -> LossFn:
    """The function named "module:qualified.name"; ValueError (one line) if there is none."""
    module, _, qualname = str(path).partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"loss {path!r} names no function ({type(exc).__name__}: {exc}); "
                         "write it as 'module:function'") from None
    if not callable(obj) or not qualname:
        raise ValueError(f"loss {path!r} is not a function")
    return obj


def passes_per_epoch(cfg: TrainConfig, n_prompts: int, reads: tuple[str, ...]) -> int:
    """Sampling plus one forward per model read and one backward per trained visit."""
    b = n_prompts * cfg.K * cfg.G
    return b * cfg.sampling_steps + b * cfg.timesteps_used() * (len(reads) + 1)


@dataclass
class CustomLossUnit(Unit):
    """A unit trained by `CustomLossTrainer` with the loss named by `loss`."""

    loss: str = ""  # "module:qualified.name"
    reads: tuple[str, ...] = ("policy",)
    version: str = "1"  # bump it when the loss changes, so cached runs are not reused

    def key(self) -> str:
        return dict_hash({"unit": super().key(), "loss": self.loss, "reads": list(self.reads),
                          "version": self.version})

    def make_trainer(self, backbone, rewards, prompts, cfg, decode=None, snapshots=(1.0,)):
        return CustomLossTrainer(backbone, rewards, prompts, cfg, decode, snapshots,
                                 loss=self.loss, reads=self.reads, version=self.version)


class CustomLossTrainer(Trainer):
    """The trainer's epoch with the update replaced by a loss function."""

    def __init__(self, backbone, rewards, prompts, cfg, decode=None, snapshots=(1.0,), *,
                 loss: str, reads=("policy",), version: str = "1"):
        reads = tuple(reads)
        if "policy" not in reads or not set(reads) <= set(MODELS):
            raise ValueError(f"reads must name 'policy' and any of {MODELS}, got {reads}")
        super().__init__(backbone, rewards, prompts, cfg, decode, snapshots)
        self.loss_fn, self.reads = resolve(loss), reads
        # a checkpoint of another loss never resumes this run
        self.config_hash = config_hash(cfg, {"trainer": self.config_hash, "loss": loss,
                                             "reads": list(reads), "version": version})

    def epoch_passes(self) -> int:
        return passes_per_epoch(self.cfg, len(self.epoch_prompts(self.epoch)), self.reads)

    def group_passes(self) -> int:
        return passes_per_epoch(self.cfg, 1, self.reads) // self.cfg.K

    def update_step(self, rollout, rewards, adv, generator: torch.Generator) -> dict:
        """Gradients of the loss over whole groups at `timesteps_used` timesteps per sample,
        `steps_per_epoch` optimizer steps (override to replace the whole update; count its
        passes into self.cost and keep `passes_per_epoch` true, or the budget is missed)."""
        cfg, state, cost, size = self.cfg, self.state, self.cost, self.cfg.G
        times = draw_timesteps(cfg, rollout.size, generator)  # (B, timesteps_used)
        order = torch.randperm(rollout.size // size, generator=generator)
        per_mb = max(1, cfg.minibatch // size)  # whole groups per minibatch
        losses = []
        for chunk in order.chunk(cfg.steps_per_epoch):
            state.optimizer.zero_grad(set_to_none=True)
            n_terms = len(chunk) * size * times.shape[1]
            for mb_groups in chunk.split(per_mb):
                rows = (mb_groups[:, None] * size + torch.arange(size)).flatten()
                x0 = rollout.x0[rows]
                for j in range(times.shape[1]):
                    batch = LossBatch(
                        x0, torch.randn(x0.shape, generator=generator), times[rows, j],
                        index_cond(rollout.cond, rows), rollout.w[rows],
                        rollout.w[rows] if cfg.w_conditioned else None, rewards[rows],
                        adv.adv[rows], adv.weights[rows], rollout.groups[rows], state, self.reads)
                    loss = self.loss_fn(batch)
                    if not (torch.is_tensor(loss) and loss.dim() == 0 and loss.requires_grad):
                        raise ValueError("the loss must return a scalar tensor that depends on "
                                         "batch.velocity('policy')")
                    if not torch.isfinite(loss):
                        raise FloatingPointError(f"the loss returned {float(loss)}")
                    (loss * len(rows) / n_terms).backward()
                    losses.append(float(loss.detach()))
                    cost.forward_passes += batch.forward_passes
                    cost.backward_passes += len(rows)
            optimizer_step(state, cfg, cost)
        return {"loss": sum(losses) / len(losses)}


class CustomLossMethod(Method):
    """One w-conditioned model trained with `loss` (subclasses set name, reads, loss)."""

    name = "custom_loss"
    reads: tuple[str, ...] = ("policy",)
    version = "1"

    def loss_path(self, ctx: SuiteContext) -> str:
        """Where the loss lives: the subclass's static `loss`, else the suite's option."""
        if callable(getattr(type(self), "loss", None)):
            return f"{type(self).__module__}:{type(self).__qualname__}.loss"
        path = (ctx.options.get(self.name) or {}).get("loss")
        if not path:
            raise ValueError(f"method_options.{self.name}.loss must name the loss function "
                             "('module:function')")
        return str(path)

    def units(self, ctx: SuiteContext) -> list[Unit]:
        options = dict(ctx.options.get(self.name) or {})
        path = self.loss_path(ctx)
        resolve(path)  # a wrong name fails here, before any work
        reads = tuple(options.get("reads", self.reads))
        version = str(options.get("version", self.version))
        trainer = {k: v for k, v in options.items() if k not in OPTION_KEYS}
        cfg = replace(ctx.base_cfg, w_conditioned=True, w_sampler="structured", w_fixed=None,
                      scalarisation="late", loss="nft", budget_passes=self.split_budget(ctx, 1),
                      **trainer)
        unit = CustomLossUnit("custom", cfg, ctx.objectives, loss=path, reads=reads,
                              version=version)
        if cfg.budget_passes is not None and ctx.n_prompts is not None:
            need = passes_per_epoch(cfg, min(cfg.prompts_per_epoch or ctx.n_prompts,
                                             ctx.n_prompts), reads)
            if cfg.budget_passes < need:
                raise ValueError(f"{self.name}: {cfg.budget_passes} passes cannot pay for one "
                                 f"epoch ({need}); raise budget.passes or shrink the epoch")
        return [unit]

    def policy(self, ctx, trained, base, w) -> Policy:
        return Policy(trained["custom"], torch.as_tensor(w, dtype=torch.float32))


METHODS.register("custom_loss")(CustomLossMethod)
