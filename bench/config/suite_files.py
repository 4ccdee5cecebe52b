"""The suite files on disk (`bench/conf/suite/<name>.yaml`): their names, reading one, and
composing the parts of a composite suite. Light to import: every entry point and the
settings check read suites through here, before the methods are loaded."""
from __future__ import annotations

import sys
from pathlib import Path

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

CONF = Path(__file__).resolve().parents[1] / "conf"  # bench/conf
SUITE_CONF = CONF / "suite"


class SuiteError(ValueError):
    """A suite that cannot run as configured."""


def yaml_error_line(exc: BaseException) -> str | None:
    """'file:line:col: problem' of a YAML syntax error (in the exception or its causes)."""
    while exc is not None and not isinstance(exc, yaml.MarkedYAMLError):
        exc = exc.__cause__ or exc.__context__
    if exc is None:
        return None
    mark = exc.problem_mark or exc.context_mark
    where = f"{mark.name}:{mark.line + 1}:{mark.column + 1}: " if mark else ""
    return f"{where}{exc.problem or exc.context or 'YAML syntax error'}"


def read_suite_file(name: str) -> dict:
    """The suite file `conf/suite/<name>.yaml` as a plain dict; a YAML syntax error is one
    SuiteError line with file:line:column."""
    try:
        return OmegaConf.to_container(OmegaConf.load(SUITE_CONF / f"{name}.yaml"))
    except (yaml.YAMLError, OmegaConfBaseException) as exc:
        raise SuiteError(f"suite file: {yaml_error_line(exc) or exc}") from None


def known_suites() -> list[str]:
    return sorted(p.stem for p in SUITE_CONF.glob("*.yaml"))


def part_overrides(raw: dict) -> dict:
    """What a composite suite changes in each part: its `overrides`, and its `imports`."""
    overrides = dict(raw.get("overrides") or {})
    if raw.get("imports"):
        overrides["imports"] = list(raw["imports"])
    return overrides


def compose_part(part: str | dict, overrides: dict) -> dict:
    """A part of a composite suite: a suite name, or {suite, name, overrides} (a variant of a
    suite under its own name, e.g. an ablation's setting); the composite's `overrides` first,
    the part's own on top."""
    spec = {"suite": part} if isinstance(part, str) else dict(part)
    name = spec.get("suite")
    if name not in known_suites():
        sys.exit(f"error: unknown part suite {name!r}; known: {', '.join(known_suites())}")
    own = {**spec.get("overrides", {}), **({"name": spec["name"]} if "name" in spec else {})}
    try:
        base = read_suite_file(name)
    except SuiteError as exc:
        sys.exit(f"error: {exc}")
    merged = OmegaConf.merge(base, overrides, own)
    return OmegaConf.to_container(merged, resolve=True)
