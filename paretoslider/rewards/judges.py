"""Learned judges of the shapes world: one style judge per style and a shape classifier.

Each style judge is its own one-vs-rest network predicting that style's blend weight, so two
style rewards are never exact complements (two heads of one softmax would be, and their
Pareto front would collapse to a line). The held-out set repeats every judge with another
seed, other training data and another architecture; it is registered under `<name>_heldout`
and only used for evaluation, so a policy that games one network shows up on the other.

Weights live in `paretoslider/assets/judges/` (one safetensors file per judge plus
`judges.json` with configs and held-out metrics) and are loaded lazily, once per process.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from paretoslider.rewards.base import REWARDS, Reward
from paretoslider.worlds.shapes import SHAPES, STYLES, parse_prompt

JUDGE_DIR = Path(__file__).resolve().parent.parent / "assets" / "judges"
INDEX_FILE = "judges.json"
TRAIN_COMMAND = "python -m paretoslider.rewards.train_judges"

# Two deliberately different architectures: 3x3 strided convs and a linear head for the
# training judges; wider layers, a 5x5 first layer, max-pool downsampling and a hidden layer
# for the held-out ones.
ARCH_TRAIN = {"widths": [16, 32, 48], "kernel": 3, "down": "stride", "pool": "max", "hidden": 0}
ARCH_HELDOUT = {"widths": [24, 40, 56], "kernel": 5, "down": "maxpool", "pool": "max", "hidden": 32}


@dataclass(frozen=True)
class JudgeSpec:
    name: str  # file stem and registry name
    target: str  # a style name, or "shape"
    heldout: bool
    seed: int  # initialisation and batch order

    @property
    def outputs(self) -> int:
        return len(SHAPES) if self.target == "shape" else 1

    @property
    def arch(self) -> dict:
        return ARCH_HELDOUT if self.heldout else ARCH_TRAIN


def _specs() -> list[JudgeSpec]:
    out = []
    for heldout in (False, True):
        suffix, base = ("_heldout", 101) if heldout else ("", 1)
        for i, style in enumerate(STYLES):
            out.append(JudgeSpec(style + suffix, style, heldout, base + i))
        out.append(JudgeSpec("adherence" + suffix, "shape", heldout, base + len(STYLES)))
    return out


JUDGE_SPECS: dict[str, JudgeSpec] = {s.name: s for s in _specs()}


class JudgeNet(nn.Module):
    """A small CNN over images in [0, 1]; position-invariant through global pooling."""

    def __init__(self, outputs: int, widths, kernel: int, down: str, pool: str, hidden: int):
        super().__init__()
        if down not in ("stride", "maxpool") or pool not in ("avg", "max"):
            raise ValueError(f"unknown judge architecture down={down!r} pool={pool!r}")
        layers: list[nn.Module] = []
        prev = 6
        for i, width in enumerate(widths):
            stride = 2 if down == "stride" and i > 0 else 1
            layers += [nn.Conv2d(prev, width, kernel, stride, kernel // 2), nn.ReLU()]
            if down == "maxpool" and i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            prev, kernel = width, 3
        self.features = nn.Sequential(*layers)
        self.pool = pool
        head: list[nn.Module] = [nn.Linear(prev, hidden), nn.ReLU()] if hidden else []
        head.append(nn.Linear(hidden or prev, outputs))
        self.head = nn.Sequential(*head)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # The raw image (styles live in absolute colour) next to a per-image standardised copy
        # (low-contrast shapes, e.g. a dim photo, become as visible as any other).
        mean = images.mean(dim=(1, 2, 3), keepdim=True)
        std = images.std(dim=(1, 2, 3), keepdim=True)
        h = self.features(torch.cat([images * 2 - 1, (images - mean) / (std + 0.05)], dim=1))
        h = h.amax(dim=(2, 3)) if self.pool == "max" else h.mean(dim=(2, 3))
        return self.head(h)


def build_net(spec: JudgeSpec) -> JudgeNet:
    return JudgeNet(spec.outputs, **spec.arch)


def read_index(judge_dir: str | Path | None = None) -> dict:
    """The judges' JSON index (configs, metrics), or {} when nothing was trained there yet."""
    path = Path(judge_dir or JUDGE_DIR) / INDEX_FILE
    return json.loads(path.read_text()) if path.exists() else {}


@functools.cache
def _load(judge_dir: str, name: str) -> tuple[JudgeNet, int]:
    weights = Path(judge_dir) / f"{name}.safetensors"
    if not weights.exists():
        raise FileNotFoundError(
            f"judge weights {weights} not found; create them with: {TRAIN_COMMAND}"
        )
    entry = read_index(judge_dir).get(name, {})
    net = build_net(JUDGE_SPECS[name])
    net.load_state_dict(load_file(str(weights)))
    net.eval().requires_grad_(False)
    return net, int(entry.get("config", {}).get("size", 16))


def load_judge(name: str, judge_dir: str | Path | None = None) -> tuple[JudgeNet, int]:
    """(network, image size it was trained at); cached per directory and name."""
    if name not in JUDGE_SPECS:
        raise KeyError(f"unknown judge {name!r}; known: {', '.join(JUDGE_SPECS)}")
    return _load(str(Path(judge_dir or JUDGE_DIR).resolve()), name)


class JudgeReward(Reward):
    """Shared plumbing: lazy loading, device placement and resizing to the training size."""

    def __init__(self, name: str, judge_dir: str | Path | None = None):
        spec = JUDGE_SPECS[name]
        self.name, self.heldout, self.spec = name, spec.heldout, spec
        self.judge_dir = judge_dir
        self.range = (0.0, 1.0)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        net, size = load_judge(self.name, self.judge_dir)
        net = net.to(images.device)
        if images.shape[-2:] != (size, size):
            images = F.interpolate(images, (size, size), mode="bilinear", antialias=True)
        return net(images.clamp(0, 1))


class StyleJudge(JudgeReward):
    """Predicted blend weight of one style, in [0, 1]."""

    def score(self, images, prompts):
        return torch.sigmoid(self.logits(images)[:, 0])


class AdherenceJudge(JudgeReward):
    """P(the prompt's shape | image) under the shape classifier."""

    def score(self, images, prompts):
        idx = torch.tensor([SHAPES.index(parse_prompt(p)[0]) for p in prompts])
        probs = torch.softmax(self.logits(images), dim=1)
        return probs.gather(1, idx.to(probs.device).view(-1, 1))[:, 0]


for _spec in JUDGE_SPECS.values():
    _cls = AdherenceJudge if _spec.target == "shape" else StyleJudge
    REWARDS.register(_spec.name)(partial(_cls, _spec.name))
