"""The training loop: one epoch = sample -> score -> advantages -> update, then bookkeeping.

Every random draw of an epoch comes from generators seeded by (seed, epoch), and the
preferences from a hash of (prompt, epoch, slot), so a run resumed from a checkpoint after
epoch k continues exactly as the uninterrupted run would.

Budgets are met exactly, to within one group of G images: an epoch that would cross the
budget, or a snapshot's share of it, is cut to the (prompt, w) groups that still fit (a
random subset), so runs of different epoch sizes end at the same number of passes and
snapshots are taken at their fraction's pass count, not at the last whole epoch below it.

`policy` is the model the run puts forward (evaluation, snapshots): the trained policy, or
with cfg.eval_ema a copy of it holding the evaluation EMA's weights; on a backbone that
shares its transformer (state.shared) no copy is made: the EMA's weights are put into the
policy itself and the trained ones set aside until training, saving or loading resumes.
"""
from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from tqdm.auto import tqdm

from paretoslider import checkpoint as ckpt
from paretoslider.preferences import make_w_sampler, stable_seed
from paretoslider.trainer.config import TrainConfig, config_hash
from paretoslider.trainer.cost import Cost, timed
from paretoslider.trainer.state import build_state
from paretoslider.trainer.steps import RewardFn, advantages, sample, score, to_unit_images
from paretoslider.trainer.update import epoch_passes, update


def _generator(*parts) -> torch.Generator:
    return torch.Generator().manual_seed(stable_seed(*parts))


class Trainer:
    """Post-trains `backbone` in place (it becomes the policy) on `rewards` for `prompts`.

    decode: x0 -> what rewards read; default `backbone.decode` if present, else [-1,1] -> [0,1].
    """

    def __init__(
        self,
        backbone,
        rewards: Sequence[RewardFn],
        prompts: Sequence[str],
        cfg: TrainConfig,
        decode: Callable[[torch.Tensor], torch.Tensor] | None = None,
        snapshots: Sequence[float] = (1.0,),
    ):
        torch.set_num_threads(cfg.threads)
        self.snapshots = tuple(sorted({float(f) for f in snapshots}))
        if not self.snapshots or not all(0 < f <= 1 for f in self.snapshots):
            raise ValueError(f"snapshot fractions must lie in (0, 1], got {list(snapshots)}")
        if not rewards:
            raise ValueError("at least one reward is needed")
        if not prompts:
            raise ValueError("at least one prompt is needed")
        self.cfg = cfg
        self.rewards = list(rewards)
        self.prompts = list(prompts)
        self.num_objectives = len(self.rewards)
        names = cfg.objectives or tuple(getattr(r, "name", f"r{i}") for i, r in enumerate(rewards))
        if len(names) != self.num_objectives:
            raise ValueError(f"{len(names)} objective names for {self.num_objectives} rewards")
        self.objectives = tuple(names)
        self.decode = decode or getattr(backbone, "decode", to_unit_images)
        self.w_sampler = make_w_sampler(
            cfg.w_sampler, self.num_objectives, cfg.seed, cfg.w_alpha, cfg.w_fixed,
            distinct=cfg.distinct_slots,
        )
        try:
            backbone_cfg = backbone.config()
        except NotImplementedError:
            backbone_cfg = type(backbone).__name__
        extra = {"prompts": self.prompts, "objectives": self.objectives, "backbone": backbone_cfg}
        if self.snapshots != (1.0,):  # cuts epochs at the snapshots: another trajectory
            extra["snapshots"] = list(self.snapshots)
        self.config_hash = config_hash(cfg, extra)
        # seeded: the LoRA / preference-module init must not depend on what ran before
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(stable_seed(cfg.seed, "init"))
            self.state = build_state(backbone, cfg, self.num_objectives)
        self.cost = Cost()
        self.history: list[dict] = []
        self.stopped_by_budget = False
        self.snapshot_weights: dict[float, dict[str, torch.Tensor]] = {}  # taken in this process
        self._ema_model = None  # built on first use of `policy` with cfg.eval_ema
        self._set_aside: dict[str, torch.Tensor] | None = None  # trained weights (state.shared)

    @property
    def policy(self):
        """The trained policy, or with cfg.eval_ema a copy holding the EMA weights (one
        more model in memory, made when first asked for, refreshed on every access)."""
        if self.state.eval_ema is None:
            return self.state.policy
        trained = getattr(self.state.policy, "module", self.state.policy)  # unwrap DDP
        if self.state.shared:  # one transformer in memory: the EMA's weights go into it
            if self._set_aside is None:
                params = dict(trained.named_parameters())
                self._set_aside = {n: params[n].detach().clone() for n in self.state.trainable}
            self._put(trained, self.state.eval_ema)
            return trained
        if self._ema_model is None:
            self._ema_model = copy.deepcopy(trained).requires_grad_(False)
        self._put(self._ema_model, self.state.eval_ema)
        return self._ema_model

    def _trained_weights_back(self) -> None:
        """Undo `policy`'s swap (state.shared): the policy holds its trained weights again."""
        if self._set_aside is not None:
            self._put(getattr(self.state.policy, "module", self.state.policy), self._set_aside)
            self._set_aside = None

    def _evaluated_weights(self) -> dict[str, torch.Tensor]:
        if self.state.eval_ema is not None:
            return self.state.eval_ema
        params = dict(self.state.policy.named_parameters())
        return {n: params[n] for n in self.state.trainable}

    @staticmethod
    @torch.no_grad()
    def _put(model, tensors: dict[str, torch.Tensor]) -> None:
        params = dict(model.named_parameters())
        for n, t in tensors.items():
            params[n].copy_(t)

    def _rollout_model(self):
        # the old policy only for the NFT losses: grpo's ratio is taken against the sampler
        if self.cfg.rollout_policy == "old" and self.cfg.loss != "grpo":
            return self.state.old
        return self.state.policy

    @property
    def epoch(self) -> int:
        return self.state.epoch

    def epoch_prompts(self, epoch: int) -> list[str]:
        n = self.cfg.prompts_per_epoch
        if n is None or n >= len(self.prompts):
            return list(self.prompts)
        gen = _generator(self.cfg.seed, "prompts", epoch)
        idx = torch.randperm(len(self.prompts), generator=gen)
        return [self.prompts[i] for i in sorted(idx[:n].tolist())]

    def epoch_passes(self) -> int:
        return epoch_passes(self.cfg, len(self.epoch_prompts(self.epoch)))

    def group_passes(self) -> int:
        """Passes of the smallest piece an epoch is cut to: one (prompt, w) group of G
        images on each process."""
        return epoch_passes(self.cfg, 1) // self.cfg.K * self._num_shards()

    def stops(self) -> list[tuple[float, int]]:
        """(fraction, pass count) of each snapshot and of the budget, by pass count."""
        budget = self.cfg.budget_passes
        if budget is None:
            return []
        return sorted(((f, round(f * budget)) for f in {*self.snapshots, 1.0}),
                      key=lambda x: x[1])

    def _reached(self, passes: int, stop: int) -> bool:
        return stop - passes < self.group_passes()

    def _next_stop(self) -> int | None:
        return next((s for _, s in self.stops() if not self._reached(self.cost.passes, s)), None)

    # hooks a data-parallel trainer overrides (paretoslider.trainer.distributed)
    def _generator(self, *parts) -> torch.Generator:
        return _generator(*parts)

    def _local_prompts(self, prompts: list) -> list:
        return prompts

    def _num_shards(self) -> int:
        return 1

    def _gather_epoch(self, rewards: torch.Tensor, zero_std_frac: float, before: dict):
        """Rewards and zero-std fraction of the whole epoch (all ranks); `before` holds the
        cost counters at the epoch's start."""
        return rewards, zero_std_frac

    def _epoch_batch(self, e: int, groups: int | None) -> tuple[list[str], torch.Tensor]:
        """This process's prompts and their preferences (P, K, M); with `groups`, only that
        many (prompt, w) groups of the epoch, chosen at random, one per row (P, 1, M)."""
        K = self.cfg.K
        if groups is None:
            prompts = self._local_prompts(self.epoch_prompts(e))
            return prompts, torch.stack([self.w_sampler(p, e, K) for p in prompts])
        pairs = [(p, k) for p in self.epoch_prompts(e) for k in range(K)]
        # the module's generator, not the per-process hook: every process keeps the same groups
        order = torch.randperm(len(pairs), generator=_generator(self.cfg.seed, "groups", e))
        local = self._local_prompts([pairs[i] for i in sorted(order[:groups].tolist())])
        ws = torch.stack([self.w_sampler(p, e, K)[k] for p, k in local])
        return [p for p, _ in local], ws[:, None]

    def train_epoch(self, groups: int | None = None) -> dict:
        """One epoch; `groups` (for a cut epoch) trains only that many (prompt, w) groups."""
        cfg, e, cost = self.cfg, self.state.epoch, self.cost
        self._trained_weights_back()
        start = time.perf_counter()
        before = cost.to_dict()
        prompts, ws = self._epoch_batch(e, groups)
        with timed(cost, "model_seconds"):
            rollout = sample(
                self._rollout_model(), prompts, ws, cfg.G, cfg.sampling_steps,
                self._generator(cfg.seed, "sample", e),
                shift=cfg.shift, grid=cfg.time_grid, solver=cfg.solver,
                w_conditioned=cfg.w_conditioned, sde=cfg.loss == "grpo",
                noise_level=cfg.noise_level, chunk=cfg.minibatch, cost=cost,
            )
        with timed(cost, "reward_seconds"):
            rewards = score(rollout.x0, rollout.prompts, self.rewards, self.decode,
                            self.cfg.reward_batch)
        adv = advantages(rewards, rollout.w, rollout.groups, cfg.loss, cfg.scalarisation)
        with timed(cost, "model_seconds"):
            stats = self.update_step(rollout, rewards, adv, self._generator(cfg.seed, "update", e))
        rewards, zero_std = self._gather_epoch(rewards, adv.zero_std_frac, before)
        self.state.epoch += 1
        cost.wall_seconds += time.perf_counter() - start
        record = {
            "epoch": self.state.epoch,
            "reward_mean": dict(zip(self.objectives, rewards.mean(0).tolist(), strict=True)),
            "zero_std_frac": zero_std,
            "passes": cost.passes,
            **({} if groups is None else {"groups": groups}),
            **stats,
        }
        self.history.append(record)
        return record

    def update_step(self, rollout, rewards, adv, generator: torch.Generator) -> dict:
        """The epoch's parameter update from its rollout, rewards and advantages: the
        configured loss (`update`). A trainer with another loss overrides only this."""
        return update(self.state, rollout, adv, self.cfg, generator, self.cost)

    def train(self, epochs: int | None = None, checkpoint_dir=None, checkpoint_every: int = 1,
              on_epoch=None):
        """Train until `epochs` (default cfg.epochs) are completed in total or the budget is
        spent (to within one group); checkpoint every `checkpoint_every` epochs if a
        directory is given, and keep a snapshot of the weights at each snapshot fraction.
        `on_epoch(passes)` is called after each epoch with the passes it spent (progress).
        Returns the history of per-epoch records."""
        target = self.cfg.epochs if epochs is None else epochs
        bar = tqdm(total=target, initial=self.epoch, disable=not self.cfg.progress, desc="train")
        if self.cost.passes == 0:  # a fraction too small for one group keeps the start
            self._take_snapshots(-self.group_passes(), checkpoint_dir)
        while self.epoch < target:
            stop, groups = self._next_stop(), None
            if stop is None and self.cfg.budget_passes is not None:
                self.stopped_by_budget = True
                break
            if stop is not None and self.cost.passes + self.epoch_passes() > stop:
                # cut the epoch at the stop: whole groups, the same number on each process
                groups = (stop - self.cost.passes) // self.group_passes() * self._num_shards()
            passes_before = self.cost.passes
            rec = self.train_epoch(groups)
            bar.update(1)
            bar.set_postfix({k: f"{v:.3g}" for k, v in rec["reward_mean"].items()})
            self._take_snapshots(passes_before, checkpoint_dir)  # before the checkpoint
            if checkpoint_dir is not None and self.epoch % checkpoint_every == 0:
                self.save(checkpoint_dir)
            if on_epoch is not None:
                on_epoch(self.cost.passes - passes_before)
        bar.close()
        return self.history

    # snapshots ------------------------------------------------------------------------
    def _take_snapshots(self, passes_before: int, directory) -> None:
        """Keep the weights for every snapshot fraction whose stop the last epoch reached."""
        for f, s in self.stops():
            if f in self.snapshots and f < 1.0 and not self._reached(passes_before, s) \
                    and self._reached(self.cost.passes, s):
                self.save_snapshot(directory, f)

    def save_snapshot(self, directory, fraction: float) -> None:
        """The evaluated parameters now (safetensors), named by the budget fraction."""
        tensors = {n: t.detach().clone() for n, t in self._evaluated_weights().items()}
        self.snapshot_weights[fraction] = tensors
        if directory is not None:
            meta = {"fraction": fraction, "passes": self.cost.passes, "epoch": self.epoch,
                    "config_hash": self.config_hash}
            ckpt.save_snapshot(snapshot_path(directory, fraction), tensors, meta)

    def load_snapshot(self, directory, fraction: float) -> dict:
        """Set the evaluated parameters (the policy's, or the evaluation EMA) to the
        snapshot's; returns its metadata."""
        tensors, meta = ckpt.load_snapshot(snapshot_path(directory, fraction), self.config_hash)
        with torch.no_grad():
            for n, t in self._evaluated_weights().items():
                t.copy_(tensors[n])
        return meta

    # checkpoints ----------------------------------------------------------------------
    def save(self, directory) -> int:
        self._trained_weights_back()
        params = dict(self.state.policy.named_parameters())
        old = dict(self.state.old.named_parameters())
        tensors = {f"policy/{n}": params[n] for n in self.state.trainable}
        tensors |= {f"old/{n}": old[n] for n in self.state.trainable}
        tensors |= {f"eval_ema/{n}": t for n, t in (self.state.eval_ema or {}).items()}
        opt_tensors, opt_rest = ckpt.optimizer_state(self.state.optimizer)
        tensors |= opt_tensors
        meta = {
            "config_hash": self.config_hash,
            "epoch": self.state.epoch,
            "step": self.state.step,
            "trainable": self.state.trainable,
            "optimizer": opt_rest,
            "cost": self.cost.to_dict(),
            "history": self.history,
            "torch_rng": ckpt.rng_to_json(torch.get_rng_state()),
        }
        nbytes = ckpt.save_checkpoint(directory, tensors, meta, tag=f"e{self.state.epoch:06d}")
        self.cost.checkpoint_bytes = nbytes
        return nbytes

    def load(self, directory) -> None:
        tensors, meta = ckpt.load_checkpoint(directory, self.config_hash)
        if meta["trainable"] != self.state.trainable:
            raise ckpt.CheckpointMismatchError("checkpoint trains other parameters than this run")
        self._trained_weights_back()
        params = dict(self.state.policy.named_parameters())
        old = dict(self.state.old.named_parameters())
        with torch.no_grad():
            for n in self.state.trainable:
                params[n].copy_(tensors[f"policy/{n}"])
                old[n].copy_(tensors[f"old/{n}"])
            for n, t in (self.state.eval_ema or {}).items():
                t.copy_(tensors[f"eval_ema/{n}"])
        ckpt.load_optimizer_state(self.state.optimizer, tensors, meta["optimizer"])
        self.state.epoch, self.state.step = meta["epoch"], meta["step"]
        self.cost = Cost.from_dict(meta["cost"])
        self.history = list(meta["history"])
        torch.set_rng_state(ckpt.rng_from_json(meta["torch_rng"]))


def snapshot_path(directory, fraction: float) -> Path:
    return Path(directory) / f"snapshot-{fraction:g}.safetensors"


def train(
    backbone, rewards, prompts, cfg: TrainConfig, decode=None, checkpoint_dir=None,
    snapshots: Sequence[float] = (1.0,),
) -> Trainer:
    """Build a Trainer, resume from `checkpoint_dir` if it holds a checkpoint, train, return it."""
    trainer = Trainer(backbone, rewards, prompts, cfg, decode, snapshots)
    if checkpoint_dir is not None and ckpt.has_checkpoint(checkpoint_dir):
        trainer.load(checkpoint_dir)
    trainer.train(checkpoint_dir=checkpoint_dir)
    return trainer
