"""`python -m bench.run suite=<name>`: train every method of a suite, evaluate, report.

Results go to `runs/<suite>/` (git-ignored) and are compared at the end with the committed
reference in `results/<suite>/`; `results_dir=results` regenerates the reference itself.
Runs are resumable: finished training units and recorded cells are skipped, so the same
command after an interruption (Ctrl-C, or a kill) picks up where it stopped.
`imports=[my_pkg.my_method]` names modules of one's own (methods, rewards, worlds) that every
process imports first (the suite's `imports` key; see docs/extending.md).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from bench.config.suite_files import CONF, compose_part, known_suites, part_overrides  # noqa: F401
from bench.execute import slurm  # also registers the launcher config's job_gpus resolver

REFERENCE = Path(__file__).resolve().parents[2] / "results"  # committed results
INTERRUPTED = "interrupted; run the same command to resume"
KEPT = ("finished training runs and recorded cells are kept; fix that, then run the same "
        "command to resume")


def check_suite_argument(argv: list[str]) -> None:
    """Refuse an unknown suite in one line before Hydra composes (its own error is long)."""
    for arg in argv:
        if arg.startswith("suite="):
            for name in arg.split("=", 1)[1].split(","):  # a multirun sweep lists several
                if name not in known_suites():
                    sys.exit(f"error: unknown suite {name!r}; known: {', '.join(known_suites())}")


def run(cfg: DictConfig) -> None:
    """One suite, or each part of a composite suite (`parts`) followed by a scaling report."""
    from bench.report.build import build_scaling_report

    raw = OmegaConf.to_container(cfg.suite, resolve=True)
    point = multirun_point()
    if point:  # a sweep over a suite setting: each point in a folder of its own
        raw["name"] = point_name(raw["name"], point)
        print(f"multirun point {' '.join(point)}: results in {Path(cfg.results_dir) / raw['name']}")
    if "parts" not in raw:
        run_suite(raw, cfg, Path(cfg.results_dir), REFERENCE)
        return
    root = Path(cfg.results_dir) / raw["name"]
    parts = [compose_part(part, part_overrides(raw)) for part in raw["parts"]]
    for part in parts_to_run(parts, cfg.only_methods):
        run_suite(part, cfg, root, REFERENCE / raw["name"])
    if not cfg.report:
        return
    kind = raw.get("report", "scaling")
    if kind == "frontier":
        from bench.report.frontier.report import build_frontier_report

        build_frontier_report(root)
    else:
        build_scaling_report([root / p["name"] for p in parts], root)
    print(f"{kind} report written to {root}")


def parts_to_run(parts: list[dict], only_methods) -> list[dict]:
    """The parts of a composite that `only_methods` touches (all without it): a part that
    lists none of them is skipped, so it does not run the named methods in their stead."""
    if not only_methods:
        return parts
    only = set(only_methods)
    kept = [p for p in parts if only & set(p.get("methods") or [])]
    for part in parts:
        if part not in kept:
            print(f"part {part.get('name')}: none of only_methods among its methods; skipped")
    return kept


def multirun_point() -> list[str]:
    """The suite settings (suite.<key>=value) this job of a multirun sweep sets; [] outside
    a multirun or where the sweep only picks suites."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return []
    return sorted(o.lstrip("+~") for o in HydraConfig.get().overrides.task
                  if o.lstrip("+~").startswith("suite."))


def point_name(name: str, point: list[str]) -> str:
    """The folder name of a multirun point: the suite's name and its settings, readable when
    short (smoke@trainer.lr=0.001), else with a digest of them."""
    import hashlib

    text = ",".join(o.removeprefix("suite.") for o in point)
    safe = "".join(c if c.isalnum() or c in "._=,-" else "_" for c in text)
    if len(safe) > 80:
        safe = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"{name}@{safe}"


def run_suite(raw: dict, cfg: DictConfig, results_root: Path, reference_root: Path) -> None:
    from bench.config.preflight import preflight
    from bench.config.suite import SuiteError, check_path_lengths, check_writable, load_suite
    from bench.store.locks import folder_lock

    only = list(cfg.only_methods) if cfg.only_methods else None
    seeds = list(cfg.get("only_seeds") or []) or None
    suite = load_suite(raw, only, seeds)
    missing = preflight(suite)  # weights from outside: all found, or nothing starts
    if missing:
        for line in missing:
            print(f"missing: {line}", file=sys.stderr)
        raise SuiteError(f"suite {suite.name}: {len(missing)} weight set(s) missing (listed "
                         "above); nothing was started")
    suite_dir = results_root / suite.name
    # trained units are reusable only with the same base model: cache / world fingerprint
    cache = Path(cfg.cache_dir) / (Path("groups") / suite.cache_group if suite.cache_group
                                   else Path(results_root.name) / suite.name)
    check_path_lengths(suite, suite_dir, cache)  # before anything is written
    check_writable(cache, "cache directory")
    check_writable(suite_dir)
    with folder_lock(suite_dir):  # one run per results folder; released when this one ends
        _run_locked(suite, raw, cfg, cache, suite_dir, reference_root)


def _run_locked(suite, raw: dict, cfg: DictConfig, cache: Path, suite_dir: Path,
                reference_root: Path) -> None:
    import yaml

    from bench.config.suite import check_same_config
    from bench.execute.evaluation import run_evaluation
    from bench.execute.jobs import (
        Paths,
        cell_work,
        cells_todo,
        run_training,
        training_todo,
        unit_work,
    )
    from bench.execute.progress import progress_bar
    from bench.report.build import build_report
    from bench.report.compare import print_comparison
    from bench.store import records as rec
    from bench.store.files import atomic_text
    from bench.store.suite_dir import SuiteDir

    folder = SuiteDir(suite_dir)
    dropped = rec.repair_records(folder.records)
    if dropped:
        print(f"records: removed {dropped} incomplete line(s) left by an interrupted run")
    world = suite.build_world()
    world_id = world.fingerprint()  # base model and judges
    workers, gpus = worker_plan(world, cfg.workers)
    config_hash = rec.config_hash({**raw, "world_fingerprint": world_id})
    check_same_config(folder.records, config_hash, suite.name)
    # the settings that ran (a composite's overrides included), for the report's header
    atomic_text(folder.suite_file, yaml.safe_dump(raw, sort_keys=False))
    paths = Paths(suite_dir, cache / world_id, list(suite.prompts))
    meta = {"config_hash": config_hash, "versions": rec.environment_versions(),
            "commit": rec.git_commit(Path(__file__).resolve().parent),
            "ref_point": list(suite.ref_point)}
    start = time.perf_counter()
    print(f"suite {suite.name}: {len(suite.methods)} methods x {len(suite.seeds)} seeds x "
          f"{len(suite.eval_ws())} preferences; results in {suite_dir}")
    cells = cells_todo(suite, paths.records)
    new_cells = 0
    if not cells:
        print(f"all cells are already recorded in {suite_dir}; to start over: "
              f"rm -r {suite_dir} {cache}")
    else:
        units, todo = training_todo(suite, paths)
        print(f"to do: {len(todo)} training runs ({units - len(todo)} already finished), "
              f"{cells} evaluation cells; progress in denoiser passes")
        if gpus:
            check_fits_job(suite, todo, workers, cfg.gpu_passes_per_hour)
            print(f"{workers} worker(s) on GPU(s) {', '.join(gpus[:workers])}")
        work = sum(unit_work(suite, u) for u in todo.values()) + cells * cell_work(suite)
        with progress_bar(work, suite.name) as bar:
            run_training(suite, paths, workers, cfg.threads, progress=bar, gpus=gpus)
            new_cells = run_evaluation(suite, paths, workers, cfg.threads, meta, progress=bar,
                                       gpus=gpus)
    if new_cells:  # run.json names the invocation that produced the records, not a no-op rerun
        # written before the report, whose web page shows it (wall time: training + evaluation)
        write_provenance(suite_dir, meta, time.perf_counter() - start)
    if cfg.report:
        build_report(suite_dir)
        print(f"report written to {suite_dir}")
    print(f"total wall time {time.perf_counter() - start:.0f} s")
    if cfg.report:
        print_comparison(suite_dir, reference_root / suite.name)


def worker_plan(world, workers: int | None) -> tuple[int, list[str]]:
    """(worker count, the GPUs they take in turn): a CUDA world's workers default to one
    per visible GPU; a CPU world's to bench.execute.devices.CPU_WORKERS, with no GPU set."""
    from bench.execute.devices import default_workers, visible_gpus, world_uses_cuda

    gpus = visible_gpus() if world_uses_cuda(world) else []
    return workers or default_workers(world_uses_cuda(world), len(gpus)), gpus


def check_fits_job(suite, todo: dict, workers: int, passes_per_gpu_hour: float) -> None:
    """Under a launcher with a time limit (SLURM), refuse a point that cannot finish in it."""
    from bench.config.suite import SuiteError
    from bench.execute.jobs import cell_keys, cell_work, unit_work

    limit = slurm.job_limit_hours(slurm.launcher_settings())
    if limit is None:
        return
    evaluations = [len(cell_keys(suite, m, s)) * cell_work(suite)
                   for s in suite.seeds for m in suite.methods]
    try:
        slurm.check_job_limit(suite.name, [unit_work(suite, u) for u in todo.values()],
                              evaluations, workers, passes_per_gpu_hour, limit)
    except slurm.JobTooLongError as exc:
        raise SuiteError(str(exc)) from None


def write_provenance(suite_dir: Path, meta: dict, wall: float) -> None:
    """run.json: the command, commit, machine and wall time of the invocation that last ran."""
    import os
    import platform

    from bench.store.suite_dir import SuiteDir
    from paretoslider.checkpoint import atomic_write_json

    atomic_write_json(SuiteDir(suite_dir).run_file, {
        "command": "python -m bench.run " + " ".join(sys.argv[1:]),
        "commit": meta["commit"], "config_hash": meta["config_hash"],
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine()},
        "wall_s": round(wall, 1), "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    })


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def _hydra_main(cfg: DictConfig) -> None:
    from concurrent.futures.process import BrokenProcessPool

    from bench.config.suite import SuiteError
    from bench.execute.jobs import UnitGoneError
    from bench.store.locks import FolderBusyError
    from paretoslider.checkpoint import CheckpointMismatchError, CorruptCheckpointError
    from paretoslider.registry import PluginError, UnknownNameError

    try:
        run(cfg)
    except (SuiteError, UnknownNameError, PluginError, CheckpointMismatchError,
            CorruptCheckpointError, FileNotFoundError, FloatingPointError,
            FolderBusyError) as exc:
        sys.exit(f"error: {exc}")
    except UnitGoneError as exc:
        sys.exit(f"error: {exc}; {KEPT}")
    except BrokenProcessPool:
        sys.exit("error: a worker process died (killed by the system, often for lack of "
                 f"memory: try workers=1); {KEPT}")
    except OSError as exc:  # ENOSPC, EROFS, ENAMETOOLONG, ... in the middle of a run
        where = f" ({exc.filename})" if exc.filename else ""
        sys.exit(f"error: {exc.strerror or exc}{where}; {KEPT}")


def stop_on_sigterm() -> None:
    """SIGTERM (a scheduler's preemption, `kill`) stops a run as Ctrl-C does: workers stop,
    finished work is kept, and the same command resumes."""
    import signal

    def _interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)


def main() -> None:
    from bench.config.plugins import rewrite_imports_argument
    from bench.config.settings import SettingsError, UsageError, check_command_line
    from paretoslider.cli import one_line_warnings

    one_line_warnings()
    stop_on_sigterm()
    argv = rewrite_imports_argument(sys.argv[1:])
    sys.argv[1:] = argv  # Hydra reads sys.argv
    try:
        check_suite_argument(argv)
        # Hydra's own flags (--help, --cfg job, ...) go to Hydra unchecked
        if all(a in ("-m", "--multirun") or not a.startswith("-") for a in argv):
            check_command_line(argv)
        _hydra_main()
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except SettingsError as exc:
        sys.exit(f"error: {exc}")
    except KeyboardInterrupt:  # the pool has stopped its workers on the way out
        print(INTERRUPTED, file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
