"""Result records: one JSON object per line of `results/<suite>/records.jsonl`.

The file is append-only. Each record goes to disk as one complete line in a single
`os.write` on a descriptor opened with O_APPEND, then fsync, so an interrupted run leaves at
worst one truncated line. The reader skips it with a warning (or raises, when asked to be
strict); its cell is not among `done_keys`, so a resumed run recomputes it, after
`repair_records` has removed the fragment.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.store.suite_dir import REJECTED  # where a repair moves the records it drops

KEY_DIGITS = 6
VERSION_PACKAGES = ("torch", "diffusers", "transformers", "peft", "accelerate", "numpy",
                    "scipy", "pymoo", "moocore", "pandas", "matplotlib", "hydra-core")

# (method, seed, w), and the budget fraction for a checkpoint before the end
RecordKey = tuple[str, int, tuple[float, ...]] | tuple[str, int, tuple[float, ...], float]


class RecordError(ValueError):
    """A records file holds a line that is not a complete JSON object."""


class TruncatedRecordError(RecordError):
    """The last line of a records file is incomplete (an interrupted write)."""


def _to_json(obj: Any) -> Any:
    """JSON fallback for numpy scalars and arrays, which records often carry."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot store {type(obj).__name__} in a record")


def _needs_newline(fd: int) -> bool:
    """True if the file is non-empty and does not end with a newline."""
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def append_record(path: str | os.PathLike, record: Mapping[str, Any]) -> None:
    """Append one record as one line, written with a single os.write and fsynced."""
    line = json.dumps(record, default=_to_json, allow_nan=False, separators=(",", ":"))
    data = (line + "\n").encode("utf-8")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        # After an interrupted write, start on a fresh line (in the same single write) and
        # leave the fragment for the reader to skip: cutting it could cut another writer's
        # line that is still being written.
        if _needs_newline(fd):
            data = b"\n" + data
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"short write to {path}: {written} of {len(data)} bytes")
        os.fsync(fd)
    finally:
        os.close(fd)


def _parse_line(line: str) -> dict[str, Any] | None:
    """A line's JSON object, or None if the line is not one."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def read_records(path: str | os.PathLike, strict: bool = False) -> list[dict[str, Any]]:
    """Read all records. A missing file gives [].

    A line that is not a JSON object is the fragment of an interrupted write: it is skipped
    with a warning, or, when `strict`, raises TruncatedRecordError (the last line) or
    RecordError (any other line, left behind when a resumed run appended after it).
    """
    p = Path(path)
    if not p.exists():
        return []
    text = p.read_text(encoding="utf-8-sig", errors="replace")  # bytes that are no text: broken lines
    lines = text.split("\n")
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record = _parse_line(line)
        if record is not None:
            out.append(record)
            continue
        last = number == len(lines)  # no newline after it: the write never finished
        if strict:
            error = TruncatedRecordError if last else RecordError
            raise error(f"{p}: line {number} is {'truncated' if last else 'not a JSON object'}")
        warnings.warn(f"{p}: skipping {'truncated' if last else 'broken'} line {number}",
                      stacklevel=2)
    return out


def repair_records(path: str | os.PathLike) -> int:
    """Drop the lines that are not JSON objects (fragments of interrupted writes) and end the
    file with a newline; returns how many lines were dropped. Call it only while no other
    process appends (before a run starts its workers): the file is rewritten atomically."""
    p = Path(path)
    if not p.exists():
        return 0
    text = p.read_text(encoding="utf-8-sig", errors="replace")
    lines = [ln for ln in text.split("\n") if ln.strip()]
    good = [ln for ln in lines if _parse_line(ln) is not None]
    if len(good) == len(lines) and (not text or text.endswith("\n")):
        return 0
    from paretoslider.checkpoint import atomic_write

    atomic_write(p, "".join(ln + "\n" for ln in good).encode("utf-8"))
    return len(lines) - len(good)


def record_key(method: str, seed: int, w: Sequence[float], checkpoint: float = 1.0) -> RecordKey:
    """Identity of a cell for resuming: (method, seed, w rounded to KEY_DIGITS), plus the
    budget fraction for a checkpoint before the end (final cells keep the 3-part key)."""
    key = str(method), int(seed), tuple(round(float(x), KEY_DIGITS) for x in w)
    checkpoint = round(float(checkpoint), KEY_DIGITS)
    return key if checkpoint == 1.0 else (*key, checkpoint)


def _key(rec: Mapping[str, Any]) -> RecordKey:
    return record_key(rec["method"], rec["seed"], rec["w"], rec.get("checkpoint", 1.0))


def scored(rec: Mapping[str, Any]) -> set[str]:
    """Names of the scorers a record holds a value for."""
    return {k for group in ("rewards", "judges") for k, v in (rec.get(group) or {}).items()
            if v is not None}


def done_keys(records: str | os.PathLike | Iterable[Mapping[str, Any]],
              scorers: Iterable[str] | None = None) -> set[RecordKey]:
    """Keys of the cells already recorded (from a path or from loaded records). With
    `scorers`, a cell whose record lacks one of them (a scorer the suite gained after it was
    recorded) is not done: it is evaluated again, and its new record supersedes the old."""
    if isinstance(records, (str, os.PathLike)):
        records = read_records(records)
    need = set(scorers or ())
    return {_key(r) for r in records if need <= scored(r)}


def drop_superseded(path: str | os.PathLike) -> int:
    """Keep only the last record of each cell (a re-evaluated cell appends a new one); returns
    how many were dropped. Call it only while no other process appends (the file is
    rewritten atomically)."""
    records = read_records(path)
    last = {_key(r): i for i, r in enumerate(records)}
    if len(last) == len(records):
        return 0
    from paretoslider.checkpoint import atomic_write

    kept = [r for i, r in enumerate(records) if last[_key(r)] == i]
    text = "".join(json.dumps(r, default=_to_json, allow_nan=False, separators=(",", ":")) + "\n"
                   for r in kept)
    atomic_write(Path(path), text.encode("utf-8"))
    return len(records) - len(kept)


# Suite keys that only add scorers: a cell recorded without them keeps every value it has and
# a rerun scores what it lacks (`done_keys`), so they do not make another configuration.
SCORER_ONLY_KEYS = ("adherence_extra",)
# Suite keys that say where trained units are cached, not what is computed
LOCATION_KEYS = ("cache_group",)
# Suite keys that say how the settings were chosen (for the report), not what is computed
PROVENANCE_KEYS = ("chosen_on_seeds",)


def config_hash(config: Mapping[str, Any]) -> str:
    """Stable sha256 of a configuration: JSON with sorted keys, so dict order is irrelevant;
    the SCORER_ONLY_KEYS, LOCATION_KEYS and PROVENANCE_KEYS of its top level are left out."""
    left_out = (*SCORER_ONLY_KEYS, *LOCATION_KEYS, *PROVENANCE_KEYS)
    kept = {k: v for k, v in config.items() if k not in left_out}
    text = json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def environment_versions(packages: Sequence[str] = VERSION_PACKAGES) -> dict[str, str | None]:
    """Python, platform and installed package versions (None for a missing package)."""
    out: dict[str, str | None] = {"python": platform.python_version(),
                                  "platform": platform.platform()}
    for name in packages:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def _git_dir(start: Path) -> Path | None:
    """The .git directory governing `start`, following a `gitdir:` file (worktrees)."""
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():
            text = dot_git.read_text().strip()
            if text.startswith("gitdir:"):
                target = Path(text.split(":", 1)[1].strip())
                return target if target.is_absolute() else (folder / target).resolve()
    return None


def _resolve_ref(git_dir: Path, ref: str) -> str | None:
    """Commit of a ref from its loose file or packed-refs (also in a worktree's common dir)."""
    dirs = [git_dir]
    common = git_dir / "commondir"
    if common.is_file():
        dirs.append((git_dir / common.read_text().strip()).resolve())
    for d in dirs:
        loose = d / ref
        if loose.is_file():
            return loose.read_text().strip() or None
        packed = d / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[1] == ref:
                    return parts[0]
    return None


def git_commit(path: str | os.PathLike | None = None) -> str | None:
    """Commit checked out at `path` (default: the working directory); None if not a repo.

    Read from the .git files directly, so it needs no git executable and runs no process.
    """
    git_dir = _git_dir(Path(path or os.getcwd()).resolve())
    if git_dir is None or not (git_dir / "HEAD").is_file():
        return None
    head = (git_dir / "HEAD").read_text().strip()
    if head.startswith("ref:"):
        return _resolve_ref(git_dir, head.split(":", 1)[1].strip())
    return head or None


# ---------------------------------------------------------------- audit
REQUIRED = ("suite", "method", "seed", "w", "objectives", "rewards", "judges")


def read_numbered(path: str | os.PathLike) -> list[tuple[int, dict[str, Any]]]:
    """(line number, record) of every line that is a JSON object (others are skipped)."""
    p = Path(path)
    if not p.exists():
        return []
    text = p.read_text(encoding="utf-8-sig", errors="replace")
    return [(n, r) for n, line in enumerate(text.split("\n"), start=1)
            if line.strip() and (r := _parse_line(line)) is not None]


def _schema_problem(rec: Mapping[str, Any]) -> str | None:
    missing = [k for k in REQUIRED if k not in rec]
    if missing:
        return f"not a cell record (lacks {', '.join(missing)})"
    if not isinstance(rec["w"], list) or len(rec["w"]) != len(rec["objectives"]):
        return f"w {rec['w']} does not match its {len(rec['objectives'])} objectives"
    return None


def _values(rec: Mapping[str, Any]) -> tuple:
    return (json.dumps(rec.get("rewards"), sort_keys=True), json.dumps(rec.get("judges"),
                                                                        sort_keys=True))


def audit(numbered: Sequence[tuple[int, Mapping[str, Any]]], suite: str | None,
          config_hash: str | None) -> tuple[list[tuple[int, dict]], list[tuple[int, str]]]:
    """(kept, problems) of a records file. A record is foreign when it is not a cell record,
    or names another suite or config hash than the folder's (`config_hash` None: the first
    cell record's; none at all, as in hand-made records: not checked). Of two records of one cell the later supersedes the earlier when it holds
    more scorers (a re-evaluation); records that agree are one; otherwise the first is kept
    and the later is a conflict. Problems are (line, why)."""
    problems: list[tuple[int, str]] = []
    kept: dict[RecordKey, tuple[int, dict]] = {}
    want = config_hash
    if want is None:  # the first cell record's (hand-made records may carry none)
        want = next((r.get("config_hash") for _, r in numbered if _schema_problem(r) is None),
                    None)
    for line, rec in numbered:
        why = _schema_problem(rec)
        if why is None and suite is not None and rec["suite"] != suite:
            why = f"a record of suite {rec['suite']}, not {suite}"
        if why is None and want is not None and rec.get("config_hash") != want:
            why = ("a record of another configuration (config hash "
                   f"{str(rec.get('config_hash'))[:12]})")
        if why is not None:
            problems.append((line, why))
            continue
        key = _key(rec)
        if key in kept:
            first_line, first = kept[key]
            if scored(rec) > scored(first):
                kept[key] = (line, dict(rec))
            elif _values(rec) != _values(first):
                problems.append((line, (f"conflicts with line {first_line} (same cell "
                                       f"{rec['method']} seed {rec['seed']} w {rec['w']})")))
            continue
        kept[key] = (line, dict(rec))
    return sorted(kept.values(), key=lambda x: x[0]), problems


def problems_line(path: Path, problems: Sequence[tuple[int, str]], repair_hint: str) -> str:
    """One line naming the first problems by line number, and the remedy."""
    shown = "; ".join(f"line {n}: {why}" for n, why in problems[:3])
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return f"{path} holds {len(problems)} record(s) that do not belong: {shown}{more}; {repair_hint}"


def repair(path: str | os.PathLike, kept: Sequence[tuple[int, Mapping[str, Any]]],
           problems: Sequence[tuple[int, str]]) -> Path:
    """Keep `kept` in the records file and move every other line to records.rejected.jsonl
    beside it (appended: nothing is deleted). Call it only while no run writes the folder."""
    from paretoslider.checkpoint import atomic_write

    p = Path(path)
    lines = p.read_text(encoding="utf-8-sig", errors="replace").split("\n")
    keep = {n for n, _ in kept}
    moved = [lines[n - 1] for n in range(1, len(lines) + 1) if lines[n - 1].strip()
             and n not in keep]
    side = p.with_name(REJECTED)
    if moved:
        with side.open("a", encoding="utf-8") as f:
            f.write("".join(ln + "\n" for ln in moved))
    atomic_write(p, "".join(lines[n - 1] + "\n" for n, _ in kept).encode("utf-8"))
    return side
