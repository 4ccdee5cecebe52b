import json

import pytest
import torch

from paretoslider.rewards import build_reward
from paretoslider.rewards.judges import JUDGE_DIR, JUDGE_SPECS, TRAIN_COMMAND, build_net, read_index
from paretoslider.rewards.train_judges import (
    MICRO,
    TrainConfig,
    render_pool,
    train_all,
    train_judge,
)
from paretoslider.worlds import report
from paretoslider.worlds.shapes import SHAPES, STYLES, make_prompt, render

HAVE_ASSETS = all((JUDGE_DIR / f"{n}.safetensors").exists() for n in JUDGE_SPECS)
needs_assets = pytest.mark.skipif(not HAVE_ASSETS, reason=f"no judge weights; run {TRAIN_COMMAND}")


@pytest.fixture(scope="module")
def micro_judges(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("judges")
    return out, train_all(out, MICRO, ["photo", "adherence"])


def test_micro_training_beats_chance_on_heldout_data(micro_judges):
    out, index = micro_judges
    # Majority guess for "photo weight >= 0.5" is right 75% of the time (a quarter of the
    # images are photo-dominant); a constant guess of the mean weight has MAE about 0.3.
    photo = index["photo"]["metrics"]
    assert photo["accuracy"] > 0.85 and photo["mae"] < 0.2
    assert index["adherence"]["metrics"]["accuracy"] > 0.5  # chance: 1 / 4 shapes
    saved = read_index(out)
    assert saved["photo"]["config"]["val_data_seed"] != saved["photo"]["config"]["train_data_seed"]
    assert (out / "photo.safetensors").exists() and (out / "adherence.safetensors").exists()


def test_micro_judges_load_as_rewards(micro_judges):
    out, _ = micro_judges
    shapes = torch.tensor([0, 1, 2, 3])
    pure_photo = torch.zeros(4, len(STYLES))
    pure_photo[:, 0] = 1
    images = render(shapes, pure_photo, seed=5)
    prompts = [make_prompt(s) for s in SHAPES]
    photo = build_reward("photo", judge_dir=out)(images, prompts)
    adherence = build_reward("adherence", judge_dir=out)(images, prompts)
    assert photo.shape == adherence.shape == (4,)
    assert photo.min() > 0.5  # pure photos
    assert ((adherence >= 0) & (adherence <= 1)).all()


def test_missing_weights_name_the_command(tmp_path):
    r = build_reward("sketch", judge_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="python -m paretoslider.rewards.train_judges"):
        r(torch.zeros(1, 3, 16, 16), ["a circle"])


def test_training_is_deterministic():
    torch.set_num_threads(1)
    data = render_pool(128, 1, 16, 128)
    val = render_pool(64, 2, 16, 64)
    cfg = TrainConfig(steps=3, shape_steps=3, batch=32)
    nets = [train_judge(JUDGE_SPECS["neon"], data, val, cfg)[0] for _ in range(2)]
    for a, b in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        assert torch.equal(a, b)


def test_heldout_judges_use_another_architecture_and_seed():
    for style in [*STYLES, "adherence"]:
        a, b = JUDGE_SPECS[style], JUDGE_SPECS[f"{style}_heldout"]
        assert a.seed != b.seed and a.arch != b.arch and b.heldout and not a.heldout
        assert build_net(a).state_dict().keys() != build_net(b).state_dict().keys()
    assert len({JUDGE_SPECS[s].seed for s in STYLES}) == len(STYLES)  # one network per style


@needs_assets
def test_shipped_judges_are_small_and_accurate():
    index = read_index()
    for name in JUDGE_SPECS:
        assert (JUDGE_DIR / f"{name}.safetensors").stat().st_size < 200_000
        assert index[name]["metrics"]["accuracy"] >= 0.95


@needs_assets
def test_adherence_prefers_the_prompted_shape():
    n = 64
    shapes = torch.arange(n) % len(SHAPES)
    weights = torch.eye(len(STYLES))[torch.arange(n) // len(SHAPES) % len(STYLES)]
    images = render(shapes, weights, seed=31337)
    right = [make_prompt(SHAPES[s]) for s in shapes.tolist()]
    wrong = [make_prompt(SHAPES[(s + 1) % len(SHAPES)]) for s in shapes.tolist()]
    for name in ("adherence", "adherence_heldout"):
        r = build_reward(name)
        assert r(images, right).mean() > 0.85
        assert r(images, wrong).mean() < 0.1


@needs_assets
def test_style_judges_recognise_pure_styles_independently():
    shapes = torch.arange(16) % len(SHAPES)
    for i, style in enumerate(STYLES):
        weights = torch.zeros(16, len(STYLES))
        weights[:, i] = 1
        images = render(shapes, weights, seed=7 + i)
        prompts = [make_prompt(SHAPES[s]) for s in shapes.tolist()]
        scores = {s: build_reward(s)(images, prompts) for s in STYLES}
        assert scores[style].mean() > 0.9
        assert max(scores[s].mean() for s in STYLES if s != style) < 0.1


def test_complement_gap_and_correlation_known_answers():
    a = torch.rand(100, generator=torch.Generator().manual_seed(0))
    scores = {"a": a, "b": 1 - a, "c": a.clone()}
    ranges = {k: (0.0, 1.0) for k in scores}
    gaps = report.complement_gaps(scores, ranges)
    assert gaps["a+b"] == pytest.approx(0.0, abs=1e-6)
    assert gaps["a+c"] == pytest.approx(2 * a.std(unbiased=False).item(), rel=1e-3)
    rel = report.complement_gaps({**scores, "k": torch.ones(100)}, {**ranges, "k": (0, 1)}, True)
    assert rel["a+b"] == pytest.approx(0.0, abs=1e-6) and rel["a+c"] == pytest.approx(1.0)
    assert rel["a+k"] == pytest.approx(1.0)  # a constant partner changes nothing
    # Values beyond the range are not clipped: two rewards both above their range's end (which
    # would saturate at 1 and look like complements) keep their real, correlated spread.
    out = report.complement_gaps({"x": a + 5, "y": a + 5}, {"x": (0, 1), "y": (0, 1)})
    assert out["x+y"] == pytest.approx(2 * a.std(unbiased=False).item(), rel=1e-3)
    corr = report.correlations({**scores, "flat": torch.ones(100)})
    assert corr["a"]["b"] == pytest.approx(-1.0) and corr["a"]["c"] == pytest.approx(1.0)
    assert corr["a"]["flat"] is None
    fractions = report.style_fractions({s: torch.eye(4)[i].repeat(3) for i, s in enumerate(STYLES)})
    assert fractions == {s: 0.25 for s in STYLES}


@needs_assets
def test_world_report_runs_on_a_random_standin_model():
    from paretoslider.worlds.pretrain import MICRO as PRETRAIN_MICRO
    from paretoslider.worlds.pretrain import build_model

    torch.set_num_threads(1)
    model = build_model(PRETRAIN_MICRO).eval()
    rep = report.world_report(model, n=8, steps=2, per_style=4, speed_batch=8, renders=16,
                              extremes=None)
    assert set(rep) >= {"judges", "base", "correlation", "complement_gap", "style_word_steering"}
    adh = rep["adherence"]
    assert adh["renders"]["n"] == 16 and adh["extremes"] == {}
    assert set(adh["base"]["accuracy"]) == {"adherence", "adherence_heldout", "adherence_shape"}
    assert set(rep["judges"]) == set(JUDGE_SPECS)
    assert sum(rep["base"]["style_fractions"].values()) == pytest.approx(1.0)
    assert 0.0 <= rep["base"]["shape_accuracy"] <= 1.0
    assert isinstance(rep["base"]["quality_gate_passed"], bool)
    assert set(rep["style_word_steering"]) == set(STYLES)
    assert rep["correlation"]["photo"]["photo"] == pytest.approx(1.0)
    gaps, rel = rep["complement_gap"], rep["complement_gap_relative"]
    assert "photo+sketch" in gaps and gaps.keys() == rel.keys()
    assert not any(k.endswith("_heldout") for pair in gaps for k in pair.split("+"))
    assert set(rep["target_sets"]) == {"targets2", "targets3", "targets4", "targets5"}
    assert all(len(t["best"]) == int(k[-1]) for k, t in rep["target_sets"].items())
    assert "target sets (every target reachable" in report.format_report(rep)
    json.loads(json.dumps(rep))  # the last line of the command is this, as JSON


def test_quality_gate_needs_heldout_accuracy_and_every_style():
    even = {s: 0.25 for s in STYLES}
    assert report.gate_passed(0.9, even)
    assert not report.gate_passed(0.89, even)
    assert not report.gate_passed(0.99, {**even, "sketch": 0.09, "photo": 0.41})
    assert report.gate_passed(0.95, {**even, "sketch": 0.10, "photo": 0.40})
