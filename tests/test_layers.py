"""The import structure: bench -> baselines -> paretoslider, never upward; inside bench, each
part imports only the parts below it; no module imports itself back through others."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("paretoslider", "baselines", "bench")
# what each top-level package and each part of bench may import (the layers, lowest first)
ALLOWED = {
    "paretoslider": set(),
    "baselines": {"paretoslider"},
    "bench": {"paretoslider", "baselines"},
}
BENCH_PARTS = {
    "store": set(),
    "config": {"store"},
    "execute": {"store", "config"},
    "metrics": {"store"},
    "report": {"store", "config", "metrics"},
    "cli": {"store", "config", "execute", "metrics", "report"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


MODULES = modules()


def imports(path: Path) -> set[str]:
    """Every project module a file imports, at any depth (lazy imports included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]
            out.update(n for n in names if n in MODULES)
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m.split(".")[0] in PACKAGES and m in MODULES} - {module_name(path)}


GRAPH = {name: imports(path) for name, path in MODULES.items()}


def test_the_scan_finds_the_project():
    assert {"bench.cli.run", "bench.report.build", "baselines.fixed_weight",
            "paretoslider.methods"} <= set(MODULES)
    assert "bench.store.records" in GRAPH["bench.report.build"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_only_go_down(name):
    top = name.split(".")[0]
    wrong = sorted(m for m in GRAPH[name] if m.split(".")[0] not in ALLOWED[top] | {top})
    assert not wrong, f"{name} imports a higher layer: {wrong}"
    if top == "bench" and name.count(".") >= 2:
        part = name.split(".")[1]
        up = sorted(m for m in GRAPH[name] if m.startswith("bench.") and m.count(".") >= 1
                    and m.split(".")[1] not in BENCH_PARTS[part] | {part})
        assert not up, f"{name} (bench.{part}) imports {up}"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph (a list of modules, first = last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_find_cycle_finds_a_known_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_circles():
    # a package's __init__ importing its own modules is not a circle through them
    graph = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in GRAPH.items()}
    assert find_cycle(graph) is None, f"import circle: {' -> '.join(find_cycle(graph))}"
