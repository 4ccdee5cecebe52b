"""Every path of a suite folder (`results/<suite>/`, `runs/<suite>/`), named once.

    records.jsonl             one CellRecord per line (bench.store.records)
    records.rejected.jsonl    lines a `repair=true` report moved aside
    suite.yaml                the composed suite a run used
    run.json                  the invocation that produced the records
    samples/<method>/seed<k>_w<i>.png, seed<k>.json|.npz   strips and per-sample values
    train_logs/<label>_seed<k>.jsonl                        per-epoch mean rewards
    figures/*.png, leaderboard.*, index.html                the report
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RECORDS = "records.jsonl"
REJECTED = "records.rejected.jsonl"
SUITE_FILE = "suite.yaml"
RUN_FILE = "run.json"


@dataclass(frozen=True)
class SuiteDir:
    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def records(self) -> Path:
        return self.root / RECORDS

    @property
    def rejected(self) -> Path:
        return self.root / REJECTED

    @property
    def suite_file(self) -> Path:
        return self.root / SUITE_FILE

    @property
    def run_file(self) -> Path:
        return self.root / RUN_FILE

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def train_logs(self) -> Path:
        return self.root / "train_logs"

    def train_log(self, label: str, seed: int) -> Path:
        return self.train_logs / f"{label}_seed{seed}.jsonl"

    @staticmethod
    def strip_name(method: str, seed: int, w_index: int) -> Path:
        """A cell's sample strip, relative to the suite folder (as records name it)."""
        return Path("samples") / method / f"seed{seed}_w{w_index}.png"

    def strip(self, method: str, seed: int, w_index: int) -> Path:
        return self.root / self.strip_name(method, seed, w_index)

    def sample_values(self, method: str, seed: int, suffix: str = ".json") -> Path:
        """Per-sample values of one method and seed (`.json`, or `.npz` from elsewhere)."""
        return self.root / "samples" / method / f"seed{seed}{suffix}"
