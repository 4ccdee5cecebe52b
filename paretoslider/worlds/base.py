"""What a world is: the interface the harness drives (`WORLDS` holds the built-in ones).

A world owns its data, base model, rewards and measures. Required: `images`, `base_model()`,
`fingerprint()`, `reward(name)`, `reward_names()`, `decode(x0)`. Optional hooks the harness
uses when present: `check_prompt(prompt)` (raise ValueError for a prompt it cannot draw),
`measure(w, samples, base_samples)` (known-answer fields of a cell) and
`known_optimum(objectives, w)` (the true optimum of objectives with a known front).
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class World(Protocol):
    images: bool  # True: samples are images in [0, 1] (B, 3, H, W) after decode

    def base_model(self) -> Any:
        """The untouched base model (a FlowBackbone)."""

    def fingerprint(self) -> str:
        """Identity of what results depend on beyond the suite (base weights, judges)."""

    def reward(self, name: str) -> Any:
        """The reward `name` (a paretoslider.rewards.Reward)."""

    def reward_names(self) -> list[str]:
        """Names `reward` accepts."""

    def decode(self, x0: Any) -> Any:
        """Model space to what rewards read."""
