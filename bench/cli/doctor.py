"""`python -m bench.doctor`: check the environment and say what is wrong, one line each."""
from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path


def checks() -> list[tuple[bool, str]]:
    out: list[tuple[bool, str]] = []
    try:
        import torch

        cuda = torch.version.cuda
        build = f"CUDA {cuda}" if cuda else "CPU build"
        line = f"torch {torch.__version__} ({build}), {torch.get_num_threads()} threads, "
        out.append((True, line + f"{os.cpu_count()} cores"))
        if cuda and not torch.cuda.is_available():
            out.append((False, "a CUDA build of torch without a GPU: reinstall torch==2.13.0 (CPU)"))
    except ImportError:
        out.append((False, "torch is not installed: run `make test` or `pip install torch==2.13.0`"))
    for name in ("diffusers", "transformers", "peft", "pymoo", "hydra", "safetensors"):
        try:
            mod = importlib.import_module(name)
            out.append((True, f"{name} {getattr(mod, '__version__', '?')}"))
        except ImportError:
            out.append((False, f"{name} missing: run `pip install -e .`"))
    assets = Path(__file__).resolve().parents[2] / "paretoslider" / "assets"
    base = assets / "base_tiny.safetensors"
    out.append((base.exists(), f"base model {'found' if base.exists() else 'missing'} at {base}"
                + ("" if base.exists() else ": run `python -m paretoslider.worlds.pretrain`")))
    judges = sorted(p.stem for p in (assets / "judges").glob("*.safetensors"))
    out.append((bool(judges), f"judges: {', '.join(judges) or 'none'}"
                + ("" if judges else ": run `python -m paretoslider.rewards.train_judges`")))
    out += _thread_variables()
    free = shutil.disk_usage(".").free / 2**30
    out.append((free > 1, f"{free:.1f} GiB free on disk"))
    url = os.environ.get("PARETOSLIDER_REWARD_SERVER")
    if url:
        out.append(_server(url))
    return out


THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _thread_variables() -> list[tuple[bool, str]]:
    """Thread-count variables that are set must be positive integers (libraries ignore or
    misread anything else, and a run then uses every core)."""
    out = []
    for name in THREAD_VARIABLES:
        value = os.environ.get(name)
        if value is None:
            continue
        ok = value.strip().isdigit() and int(value) > 0
        out.append((ok, f"{name}={value!r}" + ("" if ok else ": must be a positive integer; "
                                                f"unset it or set {name}=1")))
    return out


def suite_checks(name: str) -> list[tuple[bool, str]]:
    """The suite's preflight (bench.config.preflight): one line per weight set it needs."""
    from bench.config.preflight import needed_weights
    from bench.config.suite import SuiteError, load_suite
    from bench.config.suite_files import known_suites, read_suite_file
    from paretoslider.weights import missing_weights

    if name not in known_suites():
        return [(False, f"unknown suite {name!r}; known: {', '.join(known_suites())}")]
    try:
        suite = load_suite(read_suite_file(name))
    except SuiteError as exc:
        return [(False, f"suite {name}: {exc}")]
    out = []
    for what, model, env in needed_weights(suite):
        line = missing_weights(model, what, env)
        out.append((line is None, line or f"{what} weights {model!r} found"))
    return out or [(True, f"suite {name} loads no weights from outside the project")]


def _server(url: str) -> tuple[bool, str]:
    import urllib.request

    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=3) as r:
            return True, f"reward server {url}: {r.read().decode()[:80]}"
    except OSError as exc:
        return False, f"reward server {url} unreachable: {exc}"


def main(argv: list[str] | None = None) -> int:
    from paretoslider.cli import Parser

    p = Parser(description=__doc__.splitlines()[0].split(": ", 1)[-1])
    p.add_argument("--suite", help="also check that every weight the suite loads is here")
    args = p.parse_args(argv)
    results = checks() + (suite_checks(args.suite) if args.suite else [])
    for ok, line in results:
        print(f"[{'ok' if ok else 'FAIL'}] {line}")
    bad = sum(not ok for ok, _ in results)
    print("all checks passed" if not bad else f"{bad} problem(s) found")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
