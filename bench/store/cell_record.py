"""One evaluated cell (method, seed, w, checkpoint) as a typed record: the line it writes to
`records.jsonl`, and the check of a line read back.

`CellRecord.to_dict()` gives the keys in the order records have always had them, so a record
built here is the same JSON, byte for byte, as before it had a type. A field left None is not
written (older records lack `strength`; suites without an ideal box have no `ideal_box`),
except `sample_png` and `commit`, which records carry as null (no image; outside a git
checkout). What a world measures beyond the known fields (`known_answer`, `truth`) is kept
in `extra`, in its order, after every other key.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from numbers import Real
from typing import Any

ALWAYS_WRITTEN = {"sample_png", "commit"}


class MalformedRecordError(ValueError):
    """A record that lacks a key or has a value of the wrong type (one line)."""


@dataclass(kw_only=True)
class CellRecord:
    # what was evaluated
    suite: str                              # suite name
    method: str                             # registered method name
    seed: int                               # suite seed (training and evaluation noise)
    w: list[float]                          # preference vector, one weight per objective
    w_index: int | None = None              # position of w in the suite's evaluation grid
    objectives: list[str]                   # training rewards, in w's order
    heldout: list[str]                      # held-out judges, in w's order
    ranges: dict[str, list[float]]          # scorer -> declared [lo, hi] (normalisation)
    # what was measured: per-w means over the cell's images
    rewards: dict[str, float]               # training reward -> mean
    judges: dict[str, float]                # held-out judge or adherence scorer -> mean
    quality: dict[str, float | None]        # adherence, diversity, drift
    w_dependent: bool                       # False: one model at every w
    strength: dict[str, float] | None = None  # the method's knob values in this suite
    cost: dict[str, Any]                    # the method's total cost (repeated per cell)
    sample_png: str | None = None           # image strip, relative to the suite folder
    ideal_box: dict[str, list[list[float]]] | None = None  # space -> (M, 2) [lo, hi] box
    # provenance
    config_hash: str | None = None          # hash of the suite's settings and world
    versions: dict[str, str] | None = None  # package versions
    commit: str | None = None               # git commit of the harness
    ref_point: list[float] | None = None    # hypervolume reference point, normalised space
    checkpoint: float | None = None         # budget fraction of the weights (1.0: final)
    passes: float | None = None             # denoiser passes spent up to the checkpoint
    eval_noise_seed: int | None = None      # evaluation noise seed of this seed
    base_adherence: dict[str, float] | None = None  # the base model's adherence, same rows
    known_answer: dict[str, Any] | None = None      # a world's closed-form check (gauss)
    truth: Any = None                       # the true optimum at w, where the world knows it
    extra: dict[str, Any] = field(default_factory=dict)  # any other measured field

    @classmethod
    def build(cls, measured: Mapping[str, Any], **known: Any) -> CellRecord:
        """A record from its fields and a mapping that may hold fields this class does not
        name (a world's own measures): those go to `extra`."""
        names = _field_names()
        merged = {**known, **measured}
        return cls(**{k: v for k, v in merged.items() if k in names},
                   extra={k: v for k, v in merged.items() if k not in names})

    def to_dict(self) -> dict[str, Any]:
        """The record as written to `records.jsonl`."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        out = {k: v for k, v in out.items() if v is not None or k in ALWAYS_WRITTEN}
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> CellRecord:
        """Check a record read back and type it; MalformedRecordError names the first
        problem in one line."""
        if not isinstance(record, Mapping):
            raise MalformedRecordError(f"record is {type(record).__name__}, not an object")
        where = f"record of {record.get('method', '?')} seed {record.get('seed', '?')}"
        for key, kind in _CHECKS.items():
            if key not in record:
                if key in _REQUIRED:
                    raise MalformedRecordError(f"{where}: missing key {key!r}")
                continue
            value = record[key]
            if value is None and key not in _REQUIRED:
                continue
            if not kind(value):
                raise MalformedRecordError(f"{where}: {key!r} has the wrong type "
                                           f"({type(value).__name__}: {str(value)[:60]})")
        if len(record["w"]) != len(record["objectives"]):
            raise MalformedRecordError(f"{where}: w has {len(record['w'])} weights for "
                                       f"{len(record['objectives'])} objectives")
        return cls.build(record)


def _field_names() -> set[str]:
    return {f.name for f in fields(CellRecord)} - {"extra"}


def _number(v: Any) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool)


def _numbers(v: Any) -> bool:
    return isinstance(v, list) and all(_number(x) for x in v)


def _strings(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _scores(v: Any) -> bool:  # scorer -> mean (None: not scored)
    return isinstance(v, dict) and all(x is None or _number(x) for x in v.values())


_REQUIRED = ("suite", "method", "seed", "w", "objectives", "heldout", "ranges", "rewards",
             "judges", "w_dependent")
_CHECKS = {
    "suite": lambda v: isinstance(v, str), "method": lambda v: isinstance(v, str),
    "seed": lambda v: isinstance(v, int) and not isinstance(v, bool), "w": _numbers,
    "w_index": lambda v: isinstance(v, int), "objectives": _strings, "heldout": _strings,
    "ranges": lambda v: isinstance(v, dict) and all(_numbers(r) and len(r) == 2
                                                    for r in v.values()),
    "rewards": _scores, "judges": _scores, "quality": _scores,
    "w_dependent": lambda v: isinstance(v, bool), "strength": _scores,
    "cost": lambda v: isinstance(v, dict), "sample_png": lambda v: isinstance(v, str),
    "ref_point": _numbers, "checkpoint": _number, "passes": _number,
    "eval_noise_seed": lambda v: isinstance(v, int), "base_adherence": _scores,
}
