"""Plug-ins from outside the package: modules named by `imports`, installed entry points,
and the example plug-in (a custom-loss method, a reward, a world) run through the real
command line together with an external checkpoint of declared cost."""
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bench.config.plugins import import_modules, rewrite_imports_argument
from paretoslider.registry import PluginError, Registry, UnknownNameError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "plugin"


def write_dist_info(site: Path, name: str, entry_points: dict[str, dict[str, str]]) -> None:
    """What `pip install` leaves for a package's entry points: a dist-info folder."""
    info = site / f"{name.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    lines = []
    for group, entries in entry_points.items():
        lines += [f"[{group}]", *(f"{k} = {v}" for k, v in entries.items()), ""]
    (info / "entry_points.txt").write_text("\n".join(lines))


def install_example(site: Path) -> None:
    """The example plug-in, installed by hand into `site` (no build tools, no network): its
    package and a dist-info holding the entry points of its own pyproject.toml."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    shutil.copytree(EXAMPLE / "example_plugin", site / "example_plugin")
    write_dist_info(site, project["name"], project["entry-points"])


# ---------------------------------------------------------------- entry points and imports
def test_registry_loads_entry_points_of_its_group(tmp_path, monkeypatch):
    (tmp_path / "gadgets_mod.py").write_text("class Wrench:\n    pass\n")
    write_dist_info(tmp_path, "gadgets", {"paretoslider_bench.gadgets": {
        "wrench": "gadgets_mod:Wrench"}, "paretoslider_bench.other": {"x": "gadgets_mod:Nope"}})
    monkeypatch.syspath_prepend(str(tmp_path))
    gadgets = Registry("gadget")
    gadgets.register("hammer")(object)
    assert gadgets.names() == ["hammer", "wrench"]  # the other group's broken entry is unread
    assert gadgets.get("wrench").__name__ == "Wrench"
    with pytest.raises(UnknownNameError, match="known: hammer, wrench"):
        gadgets.get("saw")


def test_broken_or_clashing_entry_points_are_one_line_errors(tmp_path, monkeypatch):
    (tmp_path / "tools_mod.py").write_text("raise RuntimeError('boom')\n")
    write_dist_info(tmp_path, "tools", {"paretoslider_bench.tools": {"drill": "tools_mod:D"}})
    (tmp_path / "parts_mod.py").write_text("Bolt = 1\n")
    write_dist_info(tmp_path, "parts", {"paretoslider_bench.parts": {"bolt": "parts_mod:Bolt"}})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="cannot load tool 'drill'.*RuntimeError: boom"):
        Registry("tool").names()
    parts = Registry("part")
    parts.register("bolt")(2)
    with pytest.raises(PluginError, match="'bolt' .* already registered"):
        "bolt" in parts  # noqa: B015  (the lookup loads the entry points)


def test_import_modules_names_what_is_wrong(tmp_path, monkeypatch):
    (tmp_path / "fails_on_import.py").write_text("raise RuntimeError('bad plug-in')\n")
    (tmp_path / "needs_missing.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="no module named 'no_such_plugin_xyz.sub'"):
        import_modules(["no_such_plugin_xyz.sub"])
    with pytest.raises(PluginError, match="'fails_on_import' failed: RuntimeError: bad plug-in"):
        import_modules(["fails_on_import"])
    with pytest.raises(PluginError, match="missing: 'no_such_dependency_xyz'"):
        import_modules(["needs_missing"])
    with pytest.raises(PluginError, match="list of module names"):
        import_modules("json")
    import_modules(["json", "os.path"])  # importable: nothing raised


def test_imports_argument_becomes_the_suite_key():
    argv = ["suite=smoke", "imports=[a.b,c]", "workers=1"]
    assert rewrite_imports_argument(argv) == ["suite=smoke", "++suite.imports=[a.b,c]",
                                              "workers=1"]


# ---------------------------------------------------------------- through the command line
def bench_run(*args, cwd, pythonpath=()):
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([*map(str, pythonpath), str(REPO)])}
    return subprocess.run([sys.executable, "-m", "bench.run", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def test_unknown_import_is_one_line_before_any_work(tmp_path):
    out = bench_run("suite=smoke", "imports=[no_such_plugin_xyz]",
                    f"results_dir={tmp_path / 'results'}", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        ("error: imports: no module named 'no_such_plugin_xyz' (install it or put its folder "
         "on PYTHONPATH)")]
    assert not (tmp_path / "results").exists()


LOCAL_METHOD = '''
from baselines.prompting import Prompting
from paretoslider.methods import METHODS


@METHODS.register("local_prompting")
class LocalPrompting(Prompting):
    """Registered only in processes that import this module (the workers must)."""
    name = "local_prompting"
'''


@pytest.fixture(scope="module")
def plugin_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("plugins")
    site, local = root / "site", root / "local"
    install_example(site)
    local.mkdir()
    (local / "local_method.py").write_text(LOCAL_METHOD)
    from baselines.external import save_external_checkpoint
    from paretoslider.worlds.pretrain import load_base_model

    ckpt = save_external_checkpoint(load_base_model(), root / "external.safetensors")
    out = bench_run(
        "suite=smoke", "imports=[local_method]", "suite.world=shapes_gray",
        "suite.objectives=[symmetry,sketch]", "suite.heldout=[symmetry,sketch_heldout]",
        "suite.methods=[reward_weighted_fm,external,local_prompting]",
        f"+suite.method_options.external={{checkpoint:'{ckpt}',declared_cost:{{passes:1234}}}}",
        f"results_dir={root / 'results'}", f"cache_dir={root / 'cache'}", "workers=1",
        cwd=root, pythonpath=(site, local))
    assert out.returncode == 0, out.stderr[-3000:]
    return root / "results" / "smoke"


def test_example_plugin_runs_the_smoke_suite(plugin_run):
    from bench.store.records import read_records

    records = read_records(plugin_run / "records.jsonl", strict=True)
    by_method = {}
    for r in records:
        by_method.setdefault(r["method"], []).append(r)
    assert sorted(by_method) == ["external", "local_prompting", "reward_weighted_fm"]
    assert all(len(rs) == 3 for rs in by_method.values())  # 3 w, 1 seed, final weights
    assert all(set(r["rewards"]) == {"symmetry", "sketch"} for r in records)
    # the custom loss reads policy and reference: an epoch of 2 prompts x K 2 x G 2 images
    # costs 8 x 4 sampling steps + 8 x 1 timestep x (2 forwards + 1 backward) = 56 passes,
    # one group 28; 200 passes buy 3 epochs (168) and one group (28)
    assert {r["passes"] for r in by_method["reward_weighted_fm"]} == {196}
    assert {r["passes"] for r in by_method["external"]} == {1234}
    assert all(r["cost"].get("declared") for r in by_method["external"])
    assert not any(r["cost"].get("declared") for r in by_method["local_prompting"])
    log = (plugin_run / "train_logs" / "custom_seed0.jsonl").read_text().splitlines()
    assert len(log) == 4  # 3 whole epochs and the cut one


def test_declared_cost_is_marked_in_the_tables_and_the_page(plugin_run):
    board = (plugin_run / "leaderboard.md").read_text()
    rows = [ln for ln in board.splitlines() if ln.startswith("| external |")]
    assert rows and all("(declared)" in ln for ln in rows if "1,234" in ln)
    assert not any("(declared)" in ln for ln in board.splitlines()
                   if ln.startswith("| local_prompting |"))
    page = (plugin_run / "index.html").read_text()
    assert "1,234 (declared)" in page and 'data-method="reward_weighted_fm"' in page
    run = json.loads((plugin_run / "run.json").read_text())
    assert "++suite.imports=[local_method]" in run["command"]


# ---------------------------------------------------------------- the two unit kinds
def test_loss_batch_counts_what_the_loss_reads():
    import torch

    from baselines.custom_loss import LossBatch, passes_per_epoch
    from paretoslider.trainer import TrainConfig

    calls = []
    model = lambda name: lambda x, t, c, w: calls.append(name) or x * 2
    models = type("State", (), {m: staticmethod(model(m)) for m in ("policy", "old",
                                                                      "reference")})
    x0, eps = torch.zeros(4, 3), torch.ones(4, 3)
    batch = LossBatch(x0, eps, torch.full((4,), 0.25), {}, torch.ones(4, 2) / 2, None,
                      torch.zeros(4, 2), torch.tensor([[1.0, -1.0]] * 4), torch.ones(4, 2) / 2,
                      torch.zeros(4, dtype=torch.long), models, ("policy", "reference"))
    assert torch.allclose(batch.x_t, torch.full((4, 3), 0.25))  # (1 - t) 0 + t 1
    assert torch.allclose(batch.target, eps) and torch.allclose(batch.scalar_advantage(),
                                                                torch.zeros(4))
    batch.velocity("policy"), batch.velocity("policy"), batch.velocity("reference")
    assert calls == ["policy", "reference"] and batch.forward_passes == 8  # once each
    with pytest.raises(ValueError, match="reads 'old' but its method declares"):
        batch.velocity("old")
    cfg = TrainConfig(K=2, G=2, sampling_steps=4, timesteps_per_sample=1)
    assert passes_per_epoch(cfg, 2, ("policy", "reference")) == 8 * 4 + 8 * 1 * 3


def test_external_options_are_checked_before_any_work(tmp_path):
    from baselines.external import declared_cost
    from bench.config.settings import compose
    from bench.config.suite import SuiteError, load_suite

    cost = declared_cost({"passes": 10, "wall_s": 2})
    assert (cost.forward_passes, cost.passes, cost.wall_seconds) == (10, 10, 2.0)
    with pytest.raises(ValueError, match="at least `passes`"):
        declared_cost({"wall_s": 1})
    with pytest.raises(ValueError, match="unknown keys \\['gpus'\\]"):
        declared_cost({"passes": 1, "gpus": 8})
    raw = compose(["suite=smoke", "suite.methods=[external]"])["suite"]
    raw["method_options"] = {"external": {"checkpoint": str(tmp_path / "none.safetensors"),
                                          "declared_cost": {"passes": 5}}}
    with pytest.raises(SuiteError, match="method external: .*no file"):
        load_suite(raw)
    raw["method_options"] = {"custom_loss": {"loss": "json:no_such_function"}}
    raw["methods"] = ["custom_loss"]
    with pytest.raises(SuiteError, match="loss 'json:no_such_function' names no function"):
        load_suite(raw)
