"""Settings of `python -m bench.run`, checked before any work starts.

`check_command_line` composes the Hydra config for every point of the command (each point
of a multirun sweep), validates the top-level settings against `RunSettings`, then each suite
with `bench.config.suite.load_suite` (which also checks the names in `only_methods`), and raises
`SettingsError` with one line on the first problem.
"""
from __future__ import annotations

import itertools
import re
from typing import Annotated, Any

import yaml
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from bench.config.suite_files import CONF, yaml_error_line  # CONF: the Hydra config folder

COMPOSE_ERRORS = (HydraException, OmegaConfBaseException, ValueError)


class SettingsError(ValueError):
    """A command line or configuration that cannot run; the message is one line."""


class UsageError(SettingsError):
    """A command line that cannot be parsed (exit 2, as for any usage error)."""


def _path(value: Any) -> Any:
    # Hydra reads `results_dir=2024` as an int; a folder name is text either way
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


Folder = Annotated[str, BeforeValidator(_path), Field(min_length=1)]


class RunSettings(BaseModel):
    """The top level of bench/conf/config.yaml (the suite node is checked by bench.config.suite)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    suite: dict
    results_dir: Folder
    cache_dir: Folder
    workers: int | None = Field(ge=1)  # None: bench.execute.devices.default_workers
    gpu_passes_per_hour: float = Field(gt=0)
    threads: int = Field(ge=1)
    report: bool
    only_methods: list[str] | None
    only_seeds: list[int] | None = None

    @field_validator("only_methods")
    @classmethod
    def _known_methods(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("lists no method; give at least one, or null for all")
        if len(set(value)) != len(value):
            raise ValueError(f"repeats a method: {value}")
        return value

    @field_validator("only_seeds")
    @classmethod
    def _some_seeds(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (not value or len(set(value)) != len(value)):
            raise ValueError(f"must list distinct seeds, or be null for all: {value}")
        return value


# every key a suite may set (bench.config.suite.Suite), for the hint that an unset one needs a '+'
SUITE_KEYS = ("name", "objectives", "heldout", "methods", "seeds", "prompts", "ref_point",
              "fixed_grid", "grid", "eval", "budget", "trainer", "adherence", "adherence_extra",
              "world", "world_options", "method_options", "eval_prompts", "checkpoints",
              "eval_checkpoints", "ideal_box", "oracle", "imports", "cache_group",
              "chosen_on_seeds")


def _one_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(x) for x in err["loc"]) or "settings"
    if err["type"] == "extra_forbidden":
        return f"unknown setting {where!r}; known: {', '.join(RunSettings.model_fields)}"
    msg = err["msg"].removeprefix("Value error, ")
    return f"{where}: {msg} (got {err['input']!r})"


def check_settings(cfg: dict) -> RunSettings:
    """The validated top-level settings of one composed config (a plain dict)."""
    try:
        return RunSettings(**cfg)
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None


def _first_line(exc: BaseException) -> str:
    """Hydra's and OmegaConf's messages span lines; the cause's first line says what is wrong."""
    unknown = re.match(r"Could not override '([^']+)'", str(exc))
    if unknown and "not in struct" in str(exc.__cause__):
        key = unknown.group(1)
        if key.startswith("suite.") and key.split(".")[1] in SUITE_KEYS:
            return (f"the suite file does not set {key!r}, so it is added with a '+': "
                    f"+{key}=...")
        where = ("suite settings are suite.<key>, e.g. suite.seeds" if "." not in key
                 else "a suite's keys are listed in bench/conf/suite/<name>.yaml")
        return (f"unknown setting {key!r} (top-level settings: "
                f"{', '.join(RunSettings.model_fields)}; {where})")
    lines = [ln.strip().rstrip(".") for ln in str(exc).splitlines() if ln.strip()]
    cause = exc.__cause__
    if cause is not None and str(cause).strip():
        lines.append(str(cause).strip().splitlines()[0])
    return "; ".join(dict.fromkeys(lines[:1] + lines[-1:])) or type(exc).__name__


def _is_grammar_error(exc: BaseException) -> bool:
    from hydra.errors import OverrideParseException

    return isinstance(exc, OverrideParseException) or "override_grammar" in str(exc)


def _grammar_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = text.split("; See https://")[0].split(". See https://")[0]
    return (f"cannot parse the command line ({text}); quote a value with spaces or other "
            "characters in single quotes inside the shell's, e.g. \"results_dir='my runs'\"")


def _points(overrides: list[str], multirun: bool) -> list[list[str]]:
    """The override lists of each job: one, or every combination of a multirun sweep."""
    if not multirun:
        return [overrides]
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    choices = [[f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()]
               if o.is_sweep_override() else [o.input_line] for o in parsed]
    return [list(combo) for combo in itertools.product(*choices)]


def compose(overrides: list[str]) -> dict:
    """The composed config (without Hydra's own node) as a plain dict, or SettingsError."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf

    try:
        with initialize_config_dir(str(CONF), version_base="1.3"):
            cfg = hydra_compose("config", overrides=overrides)
        return OmegaConf.to_container(cfg, resolve=True)
    except (*COMPOSE_ERRORS, yaml.YAMLError) as exc:
        found = yaml_error_line(exc)
        if found:
            raise SettingsError(f"suite file: {found}") from None
        if _is_grammar_error(exc):
            raise UsageError(_grammar_line(exc)) from None
        raise SettingsError(_first_line(exc)) from None


def check_command_line(argv: list[str]) -> None:
    """Validate every job of a `bench.run` command line; raises SettingsError."""
    multirun = any(a in ("-m", "--multirun") for a in argv)
    overrides = [a for a in argv if not a.startswith("-")]
    try:
        points = _points(overrides, multirun)
    except COMPOSE_ERRORS as exc:
        if _is_grammar_error(exc):
            raise UsageError(_grammar_line(exc)) from None
        raise SettingsError(_first_line(exc)) from None
    composed = [(cfg, check_settings(cfg)) for cfg in map(compose, points)]
    # then the suites (importing the methods takes seconds); the names in only_methods
    # are checked here, against the registry
    from bench.config.suite import SuiteError, load_suite

    for cfg, settings in composed:
        suite = cfg["suite"]
        parts = suite.get("parts")
        try:
            if parts is None:
                load_suite(suite, settings.only_methods, settings.only_seeds)
                continue
            from bench.config.suite_files import compose_part, part_overrides

            for name in parts:
                load_suite(compose_part(name, part_overrides(suite)), settings.only_methods,
                           settings.only_seeds)
        except SuiteError as exc:
            raise SettingsError(str(exc)) from None
