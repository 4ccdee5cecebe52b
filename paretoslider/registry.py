"""One small registry class, used once per kind (worlds, backbones, rewards, methods;
the harness's metrics).

Installed packages add entries through Python entry points in the group
`paretoslider_bench.<kind>s` (`paretoslider_bench.methods`, `.rewards`, `.worlds`,
`.backbones`): each entry point's name is the name it is registered under, its object the
entry. They are loaded on the registry's first lookup, in every process that looks.
"""
from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Generic, TypeVar

T = TypeVar("T")
ENTRY_POINT_PREFIX = "paretoslider_bench."


class UnknownNameError(KeyError):
    """Raised for a name that no entry of a registry carries; the message lists the valid ones."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it one readable line
        return str(self.args[0])


class PluginError(ValueError):
    """An entry point that cannot be loaded or clashes with a registered name (one line)."""


class Registry(Generic[T]):
    def __init__(self, kind: str, group: str | None = None):
        self.kind = kind
        self.group = group or f"{ENTRY_POINT_PREFIX}{kind}s"
        self._entries: dict[str, T] = {}
        self._plugins_loaded = False

    def register(self, name: str) -> Callable[[T], T]:
        def add(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = obj
            return obj

        return add

    def load_plugins(self) -> None:
        """Register every installed entry point of this registry's group (once)."""
        if self._plugins_loaded:
            return
        self._plugins_loaded = True  # first: a plugin module may look names up while loading
        for ep in sorted(entry_points(group=self.group), key=lambda e: e.name):
            try:
                obj = ep.load()
            except Exception as exc:  # noqa: BLE001  (third-party code: one line, no trace)
                raise PluginError(f"cannot load {self.kind} {ep.name!r} from entry point "
                                  f"{ep.value!r} ({self.group}): {type(exc).__name__}: "
                                  f"{exc}") from None
            have = self._entries.get(ep.name)
            if have is None:
                self._entries[ep.name] = obj
            elif have is not obj:  # a module that registers itself on import is fine
                raise PluginError(f"{self.kind} {ep.name!r} of entry point {ep.value!r} is "
                                  "already registered by another module")

    def get(self, name: str) -> T:
        self.load_plugins()
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}; known: {', '.join(sorted(self._entries))}"
            ) from None

    def names(self) -> list[str]:
        self.load_plugins()
        return sorted(self._entries)

    def values(self) -> list[T]:
        """Every entry in registration order (entry points after the modules' own)."""
        self.load_plugins()
        return list(self._entries.values())

    def __contains__(self, name: str) -> bool:
        self.load_plugins()
        return name in self._entries
