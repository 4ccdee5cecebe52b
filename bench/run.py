"""`python -m bench.run suite=<name>`: train every method of a suite, evaluate, report.

Runs are resumable: finished training units and recorded cells are skipped, so the same
command after an interruption picks up where it stopped.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

CONF = Path(__file__).resolve().parent / "conf"


def known_suites() -> list[str]:
    return sorted(p.stem for p in (CONF / "suite").glob("*.yaml"))


def check_suite_argument(argv: list[str]) -> None:
    """Refuse an unknown suite in one line before Hydra composes (its own error is long)."""
    for arg in argv:
        if arg.startswith("suite="):
            for name in arg.split("=", 1)[1].split(","):  # a multirun sweep lists several
                if name not in known_suites():
                    sys.exit(f"error: unknown suite {name!r}; known: {', '.join(known_suites())}")


def run(cfg: DictConfig) -> None:
    """One suite, or each part of a composite suite (`parts`) followed by a scaling report."""
    from bench.report import build_scaling_report

    raw = OmegaConf.to_container(cfg.suite, resolve=True)
    if "parts" not in raw:
        run_suite(raw, cfg, Path(cfg.results_dir))
        return
    root = Path(cfg.results_dir) / raw["name"]
    parts = [compose_part(name, raw.get("overrides", {})) for name in raw["parts"]]
    for part in parts:
        run_suite(part, cfg, root)
    build_scaling_report([root / p["name"] for p in parts], root)
    print(f"scaling report written to {root}")


def compose_part(name: str, overrides: dict) -> dict:
    if name not in known_suites():
        sys.exit(f"error: unknown part suite {name!r}; known: {', '.join(known_suites())}")
    part = OmegaConf.merge(OmegaConf.load(CONF / "suite" / f"{name}.yaml"), overrides)
    return OmegaConf.to_container(part, resolve=True)


def run_suite(raw: dict, cfg: DictConfig, results_root: Path) -> None:
    from bench import records as rec
    from bench.jobs import Paths, run_evaluation, run_training
    from bench.report import build_report
    from bench.suite import check_same_config, check_writable, load_suite

    only = list(cfg.only_methods) if cfg.only_methods else None
    suite = load_suite(raw, only)
    suite_dir = results_root / suite.name
    check_writable(suite_dir)
    world_id = suite.build_world().fingerprint()  # base model and judges
    config_hash = rec.config_hash({**raw, "world_fingerprint": world_id})
    check_same_config(suite_dir / "records.jsonl", config_hash)
    # trained units are reusable only with the same base model
    paths = Paths(suite_dir, Path(cfg.cache_dir) / results_root.name / suite.name / world_id)
    meta = {"config_hash": config_hash, "versions": rec.environment_versions(),
            "commit": rec.git_commit(Path(__file__).resolve().parent),
            "ref_point": list(suite.ref_point)}
    start = time.perf_counter()
    print(f"suite {suite.name}: {len(suite.methods)} methods x {len(suite.seeds)} seeds x "
          f"{len(suite.eval_ws())} preferences; results in {suite_dir}")
    run_training(suite, paths, cfg.workers, cfg.threads)
    print(f"training finished after {time.perf_counter() - start:.0f} s; evaluating")
    new_cells = run_evaluation(suite, paths, cfg.workers, cfg.threads, meta)
    print(f"evaluation finished after {time.perf_counter() - start:.0f} s")
    if cfg.report:
        build_report(suite_dir)
        print(f"report written to {suite_dir}")
    wall = time.perf_counter() - start
    if new_cells:  # run.json names the invocation that produced the records, not a no-op rerun
        write_provenance(suite_dir, meta, wall)
    print(f"total wall time {wall:.0f} s")


def write_provenance(suite_dir: Path, meta: dict, wall: float) -> None:
    """run.json: the command, commit, machine and wall time of the invocation that last ran."""
    import os
    import platform

    from paretoslider.checkpoint import atomic_write_json

    atomic_write_json(suite_dir / "run.json", {
        "command": "python -m bench.run " + " ".join(sys.argv[1:]),
        "commit": meta["commit"], "config_hash": meta["config_hash"],
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine()},
        "wall_s": round(wall, 1), "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    })


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def _hydra_main(cfg: DictConfig) -> None:
    from bench.suite import SuiteError
    from paretoslider.checkpoint import CheckpointMismatchError, CorruptCheckpointError
    from paretoslider.registry import UnknownNameError

    try:
        run(cfg)
    except (SuiteError, UnknownNameError, CheckpointMismatchError, CorruptCheckpointError,
            FileNotFoundError, FloatingPointError) as exc:
        sys.exit(f"error: {exc}")


def main() -> None:
    check_suite_argument(sys.argv[1:])
    _hydra_main()


if __name__ == "__main__":
    main()
