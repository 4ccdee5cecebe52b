"""Code from outside the package: the modules a suite names, imported in every process.

A suite's `imports: [my_pkg.my_method, ...]` (or `imports=[...]` on the command line) names
modules that register methods, rewards or worlds when imported. The main process imports
them before the suite is checked, and every worker process before it runs anything (workers
are spawned: they see only what they import). Installed packages can instead declare entry
points; the registries load those themselves (`paretoslider.registry`).
"""
from __future__ import annotations

import importlib
from collections.abc import Sequence

from paretoslider.registry import PluginError

ARGUMENT = "imports="  # the command-line form, a shortcut for ++suite.imports=


def import_modules(names: Sequence[str] | None) -> None:
    """Import each named module; PluginError (one line) for a missing or failing one."""
    if names is None:
        return
    if isinstance(names, str) or not all(isinstance(n, str) and n for n in names):
        raise PluginError(f"imports must be a list of module names, got {names!r}")
    for name in names:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
                raise PluginError(f"imports: no module named {name!r} (install it or put its "
                                  "folder on PYTHONPATH)") from None
            raise PluginError(f"imports: {name!r} needs a module that is missing: "
                              f"{exc.name!r}") from None
        except Exception as exc:  # noqa: BLE001  (the module's own code failed: one line)
            raise PluginError(f"imports: importing {name!r} failed: {type(exc).__name__}: "
                              f"{exc}") from None


def rewrite_imports_argument(argv: Sequence[str]) -> list[str]:
    """`imports=[a.b,c]` -> `++suite.imports=[a.b,c]` (set or replace the suite's key), so the
    modules travel with the suite to every process and into its config hash."""
    return [f"++suite.{a}" if a.startswith(ARGUMENT) else a for a in argv]
