"""Data-parallel training under accelerate: `accelerate launch -m paretoslider.trainer.distributed`.

Each epoch's prompts are split across the processes (ranks); a prompt's K preferences come
from the hash of (prompt, epoch, slot), so every rank would draw the same w for it, and its
groups (prompt, w) never straddle two ranks: advantages stay exact without communication.
Rewards are gathered for the epoch record; gradients are averaged across ranks by
DistributedDataParallel during backward, before clipping and the optimizer step, so every
rank applies the same update and the replicas (policy and EMA old policy) stay identical.

With one process the DistributedTrainer is the plain Trainer: same draws, same result.
"""
from __future__ import annotations

import argparse
import inspect
from dataclasses import replace
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from paretoslider.preferences import stable_seed
from paretoslider.trainer.config import TrainConfig
from paretoslider.trainer.loop import Trainer
from paretoslider.trainer.state import float32_trainables

COUNTERS = ("forward_passes", "backward_passes", "images")  # summed over ranks


def shard_prompts(prompts: list[str], rank: int, world: int) -> list[str]:
    """This rank's prompts (every world-th from `rank`). Ranks must run the same number of
    backward passes, so the prompts must divide evenly."""
    if len(prompts) % world:
        raise ValueError(f"{len(prompts)} prompts per epoch do not split evenly over {world} "
                         f"processes; use a multiple of {world} (prompts or prompts_per_epoch)")
    return list(prompts[rank::world])


def _first_tensor_device(inputs: tuple, kwargs: dict) -> torch.device | None:
    for x in (*inputs, *kwargs.values()):
        if isinstance(x, torch.Tensor):
            return x.device
    return None


def _to_device(output, device: torch.device):
    if isinstance(output, torch.Tensor):
        return output.to(device)
    if isinstance(output, (tuple, list)):
        return type(output)(_to_device(o, device) for o in output)
    return output


class _DDPPolicy(DistributedDataParallel):
    """DDP whose parameter names and attributes are the backbone's: the trainer addresses
    parameters by name (EMA, checkpoints) and calls encode_prompts / image_shape on it.

    With device_ids set (a GPU rank), DDP moves a forward's inputs onto the GPU, so its
    output would land there while the old policy and reference, which are not wrapped,
    answer on the inputs' device. The wrapper keeps the backbone contract instead, output
    on the input's device, so the loss reads every model's output on one device."""

    def forward(self, *inputs, **kwargs):
        device = _first_tensor_device(inputs, kwargs)
        output = super().forward(*inputs, **kwargs)
        return output if device is None else _to_device(output, device)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)

    def named_parameters(self, *args, **kwargs):
        return self.module.named_parameters(*args, **kwargs)

    def parameters(self, *args, **kwargs):
        return self.module.parameters(*args, **kwargs)


class DistributedTrainer(Trainer):
    def __init__(self, backbone, rewards, prompts, cfg: TrainConfig, decode=None, accelerator=None):
        if accelerator is None:
            from accelerate import Accelerator

            accelerator = Accelerator()
        self.accelerator = acc = accelerator
        cfg = replace(cfg, progress=cfg.progress and acc.is_main_process)
        super().__init__(backbone, rewards, prompts, cfg, decode)
        float32_trainables([self.state.policy, self.state.old], self.state.trainable)
        if acc.num_processes > 1:
            policy = self.state.policy
            ids = [acc.local_process_index] if acc.device.type == "cuda" else None
            # construction broadcasts rank 0's weights; the old policy then copies them
            self.state.policy = _DDPPolicy(policy, device_ids=ids)
            params, old = dict(policy.named_parameters()), dict(self.state.old.named_parameters())
            with torch.no_grad():
                for n in self.state.trainable:
                    old[n].copy_(params[n])

    def _seed_parts(self, *parts):
        acc = self.accelerator
        return (*parts, acc.process_index) if acc.num_processes > 1 else parts

    def _generator(self, *parts) -> torch.Generator:
        return torch.Generator().manual_seed(stable_seed(*self._seed_parts(*parts)))

    def _gather(self, t: torch.Tensor) -> torch.Tensor:
        acc = self.accelerator
        return t if acc.num_processes == 1 else acc.gather(t.to(acc.device)).cpu()

    def _local_prompts(self, prompts: list[str]) -> list[str]:
        acc = self.accelerator
        return shard_prompts(prompts, acc.process_index, acc.num_processes)

    def _num_shards(self) -> int:
        return self.accelerator.num_processes

    def _gather_epoch(self, rewards, zero_std_frac, before):
        acc, cost = self.accelerator, self.cost
        if acc.num_processes > 1:  # budgets and records count the whole epoch, all ranks
            delta = torch.tensor([getattr(cost, k) - before[k] for k in COUNTERS],
                                 dtype=torch.float64)
            total = acc.reduce(delta.to(acc.device), "sum").cpu()
            for k, d in zip(COUNTERS, total.tolist(), strict=True):
                setattr(cost, k, before[k] + int(d))
        zero_std = float(self._gather(torch.tensor([zero_std_frac])).mean())
        return self._gather(rewards), zero_std

    def save(self, directory) -> int:
        """Rank 0 writes (all replicas are identical); the others wait for it."""
        nbytes = super().save(directory) if self.accelerator.is_main_process else 0
        self.accelerator.wait_for_everyone()
        return nbytes


# ---------------------------------------------------------------------------- entry point
def _build_world(suite: dict, device: str):
    from paretoslider.backbones import BACKBONES  # noqa: F401  (registers the sd35 world)
    from paretoslider.worlds import WORLDS

    cls = WORLDS.get(suite.get("world", "shapes"))
    options = dict(suite.get("world_options") or {})
    if "device" in inspect.signature(cls).parameters and options.get("device") is None:
        options["device"] = device  # this rank's GPU
    return cls(**options)


def main(argv: list[str] | None = None) -> None:
    """Train one ParetoSlider model (or one fixed-weight model) of a suite's config."""
    from accelerate import Accelerator
    from omegaconf import OmegaConf

    from paretoslider import checkpoint as ckpt

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--suite", required=True, help="a suite YAML (bench/conf/suite/*.yaml)")
    ap.add_argument("--out", required=True, help="checkpoint and history folder (resumable)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=None, help="override trainer.epochs")
    ap.add_argument("--fixed-w", type=float, nargs="+", default=None,
                    help="train a fixed-weight model at this w (the policy does not see w)")
    args = ap.parse_args(argv)
    suite = OmegaConf.to_container(OmegaConf.load(args.suite), resolve=True)
    acc = Accelerator()
    opts = dict(suite["trainer"], seed=args.seed, objectives=tuple(suite["objectives"]))
    if args.epochs is not None:
        opts["epochs"] = args.epochs
    if (suite.get("budget") or {}).get("passes") is not None:
        opts.setdefault("budget_passes", suite["budget"]["passes"])
    if args.fixed_w is not None:
        opts |= {"w_sampler": "fixed", "w_fixed": tuple(args.fixed_w), "w_conditioned": False}
    cfg = TrainConfig(**opts)
    world = _build_world(suite, str(acc.device))
    try:
        backbone = world.base_model()
    except FileNotFoundError as exc:  # MissingWeightsError: one line says what to provide
        raise SystemExit(f"error: {exc}") from None
    prompts = list(suite["prompts"])
    if hasattr(backbone, "release_text_encoders"):  # cache every prompt, then free the encoders
        backbone.encode_prompts(prompts)
        backbone.release_text_encoders()
    rewards = [world.reward(n) for n in suite["objectives"]]
    trainer = DistributedTrainer(backbone, rewards, prompts, cfg, decode=world.decode,
                                 accelerator=acc)
    out = Path(args.out)
    if ckpt.has_checkpoint(out / "ckpt"):
        trainer.load(out / "ckpt")
    trainer.train(checkpoint_dir=out / "ckpt")
    if acc.is_main_process:
        ckpt.atomic_write_json(out / "history.json", {"history": trainer.history,
                                                     "cost": trainer.cost.to_dict()})
        print(f"trained {trainer.epoch} epochs on {acc.num_processes} process(es); "
              f"history in {out / 'history.json'}")


if __name__ == "__main__":
    main()
