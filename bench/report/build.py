"""Build a suite's leaderboard and figures from what its run saved, without retraining
(`python -m bench.report`, `bench.cli.report`): `build_report` for one suite,
`build_scaling_report` for several suites against the number of objectives."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from bench.config.suite_files import SUITE_CONF
from bench.metrics import budget
from bench.metrics.paired import COMPARED, comparisons
from bench.metrics.per_objective import write_targets
from bench.metrics.run_arrays import build_runs, w_key
from bench.report import figures, image_figures
from bench.report.aggregate import ORACLE, Analysis, analyse, leaderboard
from bench.report.fresh import fresh_section, protocol_line
from bench.report.html import read_run, write_index, write_suite_page
from bench.report.known_answers import known_answer_section
from bench.report.tables import (
    NA,
    blend_section,
    budget_sections,
    comparison_section,
    fmt,
    sections,
    write_tables,
)
from bench.report.truth import (
    comparisons_markdown,
    has_truth,
    truth_comparisons,
    truth_section,
    truth_summary,
)
from bench.store.files import atomic_save, atomic_text
from bench.store.records import REJECTED, audit, problems_line, read_numbered, read_records
from bench.store.records import repair as repair_records_file
from bench.store.sidefiles import load_train_logs, note
from bench.store.suite_dir import SUITE_FILE, SuiteDir

DEFAULT_RESULTS = Path("runs")  # where bench.run writes by default (config.yaml results_dir)


class ForeignRecordsError(ValueError):
    """A records file that mixes in records of another suite, configuration or value."""


def read_suite_records(suite_dir: str | Path, repair: bool = False) -> list[dict]:
    """A suite's records, checked against the folder (`bench.store.records.audit`: the suite name
    of its suite.yaml, the config hash of its run.json); raises FileNotFoundError naming the
    path if there are none and ForeignRecordsError if some do not belong, unless `repair`,
    which keeps the consistent ones and moves the rest to records.rejected.jsonl."""
    path = SuiteDir(suite_dir).records
    numbered = read_numbered(path)
    if not numbered:
        raise FileNotFoundError(f"no records in {path}: run `python -m bench.run` first")
    suite_dir = Path(suite_dir)
    settings = suite_settings("", suite_dir) if (suite_dir / SUITE_FILE).is_file() else {}
    kept, problems = audit(numbered, settings.get("name"), _run_hash(suite_dir))
    if problems:
        if not repair:
            raise ForeignRecordsError(problems_line(
                path, problems, "nothing was mixed in; to keep the first consistent record of "
                f"each cell and move the rest to {REJECTED}: `python -m bench.report "
                f"suite={suite_dir.name} results_dir={suite_dir.parent} repair=true`"))
        side = repair_records_file(path, kept, problems)
        print(f"records: kept {len(kept)}, moved {len(numbered) - len(kept)} to {side}")
    return [r for _, r in kept]


def _run_hash(suite_dir: Path) -> str | None:
    """The config hash of the run that wrote the folder (run.json), if it says."""
    run = read_run(suite_dir)
    return None if run is None else run.get("config_hash")


def suite_settings(name: str, suite_dir: Path | None = None) -> dict[str, Any]:
    """The suite's settings as a dict: the `suite.yaml` that `bench.run` wrote beside the
    records (what ran, overrides included), else the config file of that name ({} when there
    is none or it is unreadable)."""
    written = None if suite_dir is None else Path(suite_dir) / SUITE_FILE
    path = written if written is not None and written.is_file() else SUITE_CONF / f"{name}.yaml"
    try:
        raw = yaml.safe_load(path.read_text()) if path.is_file() else {}
    except (OSError, yaml.YAMLError):
        raw = {}
    return raw if isinstance(raw, dict) else {}


def find_oracle(suite_dir: Path, records: Sequence[dict], settings: Mapping[str, Any],
                name: str | None = None) -> tuple[list[dict], Path | None]:
    """Oracle records for regret: the suite's own, else a sibling suite's folder."""
    if any(r["method"] == ORACLE for r in records):
        return [], None
    candidates = [n for n in (name, settings.get("oracle"), f"{suite_dir.name}_oracle") if n]
    for folder in (suite_dir.parent / n for n in candidates):
        found = read_records(SuiteDir(folder).records)
        if found:
            return found, folder
    return [], None


def settings_line(analysis: Analysis, settings: Mapping[str, Any], records: Sequence[dict]
                  ) -> str:
    """Budget, regime, seeds, samples per w, evaluation prompts and the cell counts."""
    runs = analysis.per_run
    passes = pd.to_numeric(runs.get("passes"), errors="coerce").dropna()
    spent = (f"; actual {fmt(passes.min(), True)}-{fmt(passes.max(), True)}"
             if len(passes) else "")
    budget_cfg = settings.get("budget") or {}
    seeds = sorted(set(runs["seed"]))
    train_prompts = settings.get("prompts") or []
    eval_prompts = settings.get("eval_prompts") or train_prompts
    split = ("split from" if set(eval_prompts) != set(train_prompts) else "the same as")
    c = analysis.counts
    return (f"Budget: {fmt(budget_cfg.get('passes'), True)} passes per method and seed, regime "
            f"{budget_cfg.get('regime', NA)}{spent}. Seeds: {len(seeds)} "
            f"({', '.join(map(str, seeds))}). Samples per w: "
            f"{'/'.join(map(str, analysis.samples_per_w)) or NA}. Eval prompts: "
            f"{len(eval_prompts) or NA} ({split} the {len(train_prompts)} training prompts). "
            f"Cells: {c['cells']} recorded, {c['nan_cells']} with a NaN score (left out, "
            f"counted here), {c['missing_cells']} missing; {c['runs_without_samples']} of "
            f"{c['runs']} runs without per-sample files (seed-only intervals).")


def build_figures(suite_dir: Path, records: Sequence[dict], per_run: pd.DataFrame | None = None,
                  curve: pd.DataFrame | None = None) -> list[Path]:
    """All figures a suite's saved files allow; returns the paths written."""
    fig_dir = SuiteDir(suite_dir).figures
    out = [figures.pareto_plot(records, fig_dir / "pareto.png", "heldout"),
           figures.pareto_plot(records, fig_dir / "pareto_train.png", "train")]
    out.append(image_figures.slider_strips(suite_dir, records, fig_dir / "slider_strips.png"))
    if len(records[0]["w"]) == 3:
        dynamic = dict.fromkeys(r["method"] for r in records if r.get("w_dependent", True))
        for method in dynamic:
            out.append(image_figures.simplex_grid(suite_dir, records, method,
                                                  fig_dir / f"simplex_{method}.png"))
    logs = load_train_logs(suite_dir)
    if logs:
        out.append(figures.training_curves(logs, fig_dir / "training_curves.png"))
    else:
        note(f"no training logs under {suite_dir / 'train_logs'}: training curves skipped")
    if per_run is not None:
        out.append(figures.reward_vs_drift(per_run, fig_dir / "reward_vs_drift.png"))
    if curve is not None and not curve.empty:
        out.append(figures.budget_curves(curve, fig_dir / "budget_curves.png"))
    else:
        note("no records of earlier checkpoints: budget curves skipped")
    return [p for p in out if p is not None]


def build_report(suite_dir: str | Path, ref_point: Sequence[float] | None = None,
                 oracle: str | None = None, repair: bool = False) -> dict[str, Any]:
    """Leaderboard tables and figures of one suite, from its records and side files alone.

    `ref_point` (normalised, one entry per objective) overrides the hypervolume reference
    the records carry (their `ref_point`, else the origin); `oracle` names the oracle suite.
    Returns {"leaderboard", "comparisons", "budget": DataFrames, "tables", "figures",
    "pages": paths}.
    """
    suite_dir = Path(suite_dir)
    records = read_suite_records(suite_dir, repair)
    name = records[0].get("suite", suite_dir.name)
    settings = suite_settings(name, suite_dir)
    oracle_records, oracle_dir = find_oracle(suite_dir, records, settings, oracle)
    analysis = analyse(records, suite_dir, ref_point, oracle_records or None,
                       oracle_dir=oracle_dir)
    board = leaderboard(analysis.per_run, analysis.replicates, analysis.ref)
    board["cost_declared"] = board["method"].isin(declared_methods(records))
    comp = comparisons(analysis.per_run, analysis.replicates)
    curve = (budget.curves(records, analysis.context) if budget.has_checkpoints(records)
             else pd.DataFrame())
    table, areas = budget.summary(curve)
    static = sorted(set(board.loc[~board["w_dependent"], "method"]))
    chosen_on = settings.get("chosen_on_seeds")
    info = {"k": analysis.k, "samples": "/".join(map(str, analysis.samples_per_w)) or NA,
            "settings": " ".join(filter(None, [settings_line(analysis, settings, records),
                                               protocol_line(records, chosen_on)])),
            "oracle_note": " ".join(filter(None, [oracle_note(analysis, oracle_dir),
                                                  oracle_settings_note(settings, oracle_dir),
                                                  oracle_check(analysis, records)]))}
    extra = [fresh_section(records, suite_dir, board, chosen_on, analysis.k),
             comparison_section(comp, COMPARED), known_answer_section(records),
             truth_section(records),
             blend_section(analysis.cells), *budget_sections(table, areas, static)]
    tables = write_tables(board, suite_dir, f"Leaderboard: {name}", info, extra)
    atomic_save(suite_dir / "per_run.csv",
                lambda tmp: analysis.per_run.to_csv(tmp, index=False, na_rep=NA))
    for frame, file in ((comp, "comparisons.csv"), (analysis.cells, "blend_by_w.csv"),
                        (table, "budget.csv")):
        if not frame.empty:
            atomic_save(suite_dir / file,
                        lambda tmp, f=frame: f.to_csv(tmp, index=False, na_rep=NA))
            tables.append(suite_dir / file)
    figs = build_figures(suite_dir, records, analysis.per_run, curve)
    # the page shows the same sections as leaderboard.md
    pages = [write_suite_page(suite_dir, f"Leaderboard: {name}", sections(board, info, extra),
                              records, figs, analysis.counts), write_index(suite_dir.parent)]
    return {"leaderboard": board, "comparisons": comp, "budget": table, "tables": tables,
            "figures": figs, "pages": pages}


def declared_methods(records: Sequence[dict]) -> set[str]:
    """Methods whose cost was declared by their authors (a model trained elsewhere)."""
    return {r["method"] for r in records if (r.get("cost") or {}).get("declared")}


def oracle_settings_note(settings: Mapping[str, Any], oracle_dir: Path | None) -> str | None:
    """Says so where a sibling oracle suite ran at other settings than this suite's
    fixed-weight runs (or did not record them): its regret is then against another setting."""
    if oracle_dir is None:
        return None
    from baselines.oracle import oracle_options

    mine = oracle_options(settings.get("method_options") or {})
    written = oracle_dir / SUITE_FILE
    if not written.is_file():
        return (f"The oracle's settings are not recorded ({oracle_dir.name} has no "
                f"{SUITE_FILE}); this suite's fixed-weight settings are {mine}.")
    theirs = oracle_options(suite_settings("", oracle_dir).get("method_options") or {})
    if theirs == mine:
        return None
    return (f"The oracle ran at {theirs}, this suite's fixed-weight runs at {mine}: regret is "
            "taken against runs at another setting.")


def oracle_note(analysis: Analysis, oracle_dir: Path | None) -> str:
    """Where the oracle came from, or why regret is n/a."""
    o = analysis.oracle
    if o is None:
        return ("n/a: no oracle records (method 'oracle' in this suite, or the oracle "
                "suite's records.jsonl beside it).")
    where = f"from {oracle_dir.name}/records.jsonl" if oracle_dir else "from this suite"
    return (f"Oracle {where}: one fixed-weight model per w, {len(o['seeds'])} seeds, "
            f"{fmt(o['passes'], True)} passes per model; its mean held-out w.r is "
            f"{fmt(o['utility']['heldout'])}.")


def oracle_check(analysis: Analysis, records: Sequence[dict]) -> str | None:
    """Is the oracle a yardstick at each w? Its held-out w.r (mean over its seeds) against each
    method's (mean over seeds); says where it is below every method's and where some beats it."""
    if analysis.context is None or analysis.context.oracle is None:
        return None
    oracle = analysis.context.oracle["heldout"][0]
    runs, _ = build_runs([r for r in records if r["method"] != ORACLE])
    utility: dict[str, dict[tuple, list[float]]] = {}
    for run in runs:
        for w, u in zip(run.ws, np.sum(run.ws * run.means["heldout"], axis=1), strict=True):
            utility.setdefault(run.method, {}).setdefault(w_key(w), []).append(float(u))
    below_all, beaten = [], []
    for w, value in sorted(oracle.items()):
        means = [np.mean(per_w[w]) for per_w in utility.values() if w in per_w]
        if not means or not np.isfinite(value):
            continue
        if value < min(means):
            below_all.append(w)
        elif value < max(means):
            beaten.append(w)
    where = lambda ws: ", ".join(f"w1={w[0]:g}" for w in ws)
    return (f"Oracle check (held-out w.r): below every method at {len(below_all)} w"
            f"{' (' + where(below_all) + ')' if below_all else ''}; some method above it at "
            f"{len(beaten)} more w{' (' + where(beaten) + ')' if beaten else ''}"
            + ("; read regret there as a comparison, not a distance to an optimum."
               if below_all or beaten else "."))


def build_scaling_report(suite_dirs: Sequence[str | Path], out_dir: str | Path) -> Path:
    """HV / controllability / cost over several suites (the parts of a composite suite).

    Each suite's leaderboard is recomputed from its records; `<out_dir>/targets.md` gives
    per-objective Spearman and vertex scores per part (`bench.metrics.per_objective`). Where the parts
    differ in their number of objectives, `<out_dir>/figures/scaling.png` plots the metrics
    against M (one part per M); returns the figure, else the targets table.
    """
    boards, parts, truths = {}, {}, {}
    for suite_dir in suite_dirs:
        records = read_suite_records(suite_dir)
        found = analyse(records, suite_dir, resamples=200)
        board = leaderboard(found.per_run, found.replicates, found.ref)
        m = len(records[0]["objectives"])
        if has_truth(records):  # a known front: the metrics against it lead
            board = board.merge(truth_summary(records), on="method", how="left",
                                suffixes=("", "_truth"))
            truths.setdefault(m, truth_comparisons(records))
        boards.setdefault(m, board)
        parts[Path(suite_dir).name] = (records, board)
    table = write_targets(parts, out_dir)
    if truths:
        atomic_text(Path(out_dir) / "truth_by_M.md", comparisons_markdown(truths))
    if len(boards) < 2:
        return table
    panels = figures.TRUTH_PANELS if len(truths) == len(boards) else figures.SCALING_PANELS
    return figures.scaling_plot(boards, Path(out_dir) / "figures" / "scaling.png", panels)
