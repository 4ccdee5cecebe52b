"""The trained units of one (method, seed) at one checkpoint, loaded when a policy first
reads them.

A method whose policy at w reads one unit (`Method.units_at`: the fixed-weight set, the
oracle) then holds one trained model beside the base instead of all of them: at SD3.5 scale
each is a whole transformer (4.6 GiB in bf16), six for the fixed-weight set at M = 2."""
from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any


class LoadedUnits(Mapping):
    """Label -> trained model, each loaded by `load(label)` on first access and kept until
    `keep_only` lets it go."""

    def __init__(self, labels: Iterable[str], load: Callable[[str], Any]):
        self._labels = list(labels)
        self._load = load
        self._held: dict[str, Any] = {}
        self.loads = 0  # how many times a unit was loaded (a dropped one reloads)

    def __getitem__(self, label: str) -> Any:
        if label not in self._labels:
            raise KeyError(label)
        if label not in self._held:
            self._held[label] = self._load(label)
            self.loads += 1
        return self._held[label]

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    @property
    def held(self) -> tuple[str, ...]:
        """The labels loaded now."""
        return tuple(self._held)

    def keep_only(self, labels: Iterable[str]) -> None:
        """Let go of every loaded unit not in `labels`, and give its memory back."""
        keep = set(labels)
        dropped = [k for k in self._held if k not in keep]
        for k in dropped:
            del self._held[k]
        if dropped:
            _free_memory()


def _free_memory() -> None:
    gc.collect()  # a model in a reference cycle would otherwise outlive its release
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def grouped_by_units(cells: list, needs: Mapping[int, tuple[str, ...] | None]) -> list:
    """`cells` ((checkpoint, w index, w) tuples) reordered so that cells reading the same
    units (`needs`: w index -> labels) are consecutive, groups in the order they first appear
    and cells in their own order within a group: each unit then loads once per checkpoint."""
    first: dict[tuple, int] = {}
    keys = [first.setdefault(tuple(needs[c[1]] or ()), len(first)) for c in cells]
    return [c for _, c in sorted(zip(keys, cells, strict=True), key=lambda kc: kc[0])]
