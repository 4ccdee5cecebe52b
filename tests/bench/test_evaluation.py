"""Evaluation: switching sends rows to its components on the shared noise, noise is drawn
per seed, and each checkpoint's cells are keyed and recorded on their own."""
from __future__ import annotations

import copy

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from bench.cli.run import CONF
from bench.config.eval_spec import EvalSpec
from bench.config.suite import SuiteError, load_suite
from bench.execute import evaluation, jobs
from bench.execute.evaluate import generate
from bench.store.records import done_keys, read_records, record_key
from paretoslider.methods import MixturePolicy, Policy


class ConstantVelocity:
    """v = c everywhere: Euler sampling from t = 1 to 0 gives x0 = noise - c."""

    image_shape = (3,)

    def __init__(self, c: float):
        self.c = c

    def encode_prompts(self, prompts):
        return {"ids": torch.zeros(len(prompts), 1)}

    def __call__(self, x, t, cond, w=None):
        return torch.full_like(x, self.c)


def test_switching_rows_come_from_their_component_on_the_shared_noise():
    spec = EvalSpec(["a", "b"], samples_per_prompt=16, steps=4, noise_seed=5)
    mix = MixturePolicy([Policy(ConstantVelocity(1.0)), Policy(ConstantVelocity(-2.0))],
                        (0.25, 0.75), seed=0)
    images = generate(mix, spec, decode=lambda x: x)
    noise = spec.noise((3,))  # what every other method of this seed starts from
    which = mix.assign(32)
    want = noise - torch.tensor([1.0, -2.0])[which].view(-1, 1)
    assert torch.allclose(images, want, atol=1e-6)
    assert 0 < int(which.sum()) < 32  # both components drew rows


def _suite(**change):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        raw = OmegaConf.to_container(compose("config", overrides=["suite=smoke"]).suite,
                                     resolve=True)
    return load_suite({**copy.deepcopy(raw), **change})


def test_evaluation_noise_is_drawn_per_seed_and_shared_by_methods():
    suite = _suite()
    a, b = suite.eval_spec(0), suite.eval_spec(1)
    assert (a.noise_seed, b.noise_seed) == (7, 8)  # smoke's eval.noise_seed + seed
    assert torch.equal(a.noise((3, 4, 4)), suite.eval_spec(0).noise((3, 4, 4)))
    assert not torch.equal(a.noise((3, 4, 4)), b.noise((3, 4, 4)))


def test_evaluation_prompts_and_checkpoints_are_checked():
    suite = _suite(eval_prompts=["a circle", "a square", "a cross"])
    assert suite.eval_spec(0).rows()[-1] == "a cross" and suite.context(0).n_prompts == 2
    for change, message in [({"checkpoints": [0.5]}, "including 1.0"),
                            ({"checkpoints": [0.0, 1.0]}, "in \\(0, 1\\]"),
                            ({"eval_prompts": []}, "eval_prompts"),
                            ({"eval_prompts": ["a cross"]}, "strip_prompt 'a circle'"),
                            ({"oracle": "nope"}, "oracle names no suite")]:
        with pytest.raises(SuiteError, match=message):
            _suite(**change)


def test_checkpoint_cells_have_keys_of_their_own():
    final = record_key("m", 0, [0.5, 0.5])
    assert final == ("m", 0, (0.5, 0.5)) == record_key("m", 0, [0.5, 0.5], 1.0)
    early = record_key("m", 0, [0.5, 0.5], 0.33)
    assert early == ("m", 0, (0.5, 0.5), 0.33) and early != final
    records = [{"method": "m", "seed": 0, "w": [0.5, 0.5]},  # an old record: final weights
               {"method": "m", "seed": 0, "w": [0.5, 0.5], "checkpoint": 0.33}]
    assert done_keys(records) == {final, early}


@pytest.mark.slow
def test_checkpoints_are_trained_at_exact_passes_and_recorded_separately(tmp_path):
    suite = _suite(methods=["paretoslider", "switching"], checkpoints=[0.5, 1.0])
    paths = jobs.Paths(tmp_path / "smoke", tmp_path / "runs")
    for unit in {u.key(): u for us in jobs.plan_units(suite).values() for u in us}.values():
        jobs.train_unit(suite, unit, paths.unit_dir(unit), tmp_path / "logs" / unit.label)
    for method in suite.methods:
        assert evaluation.evaluate_run(suite, paths, method, 0, {"config_hash": "x"}) == 6
    records = read_records(paths.records, strict=True)
    cells = {(r["method"], r["checkpoint"]): r for r in records if r["w"] == [0.5, 0.5]}
    # one group is 2 images x (4 sampling + 1 timestep x 4) = 16 passes: the slider's 200
    # end at 192; switching's two runs of 100 at 96 each; halves: 96, and 48 + 48
    assert {k: r["passes"] for k, r in cells.items()} == {
        ("paretoslider", 1.0): 192, ("paretoslider", 0.5): 96,
        ("switching", 1.0): 192, ("switching", 0.5): 96}
    assert {r["eval_noise_seed"] for r in records} == {7}
    slider = [cells["paretoslider", f]["rewards"] for f in (0.5, 1.0)]
    assert slider[0] != slider[1]  # other weights
    assert sum(r["sample_png"] is not None for r in records) == 6  # final weights only
    assert evaluation.evaluate_run(suite, paths, "switching", 0, {}) == 0  # every cell recorded
    samples = (tmp_path / "smoke" / "samples" / "switching" / "seed0.json").read_text()
    assert samples.count('"w"') == 3


def test_evaluation_sampled_in_batches_is_the_same():
    from bench.config.eval_spec import EvalSpec
    from bench.execute.evaluate import generate
    from paretoslider.methods import Policy
    from paretoslider.worlds.pretrain import MICRO, build_model

    torch.manual_seed(0)
    model = build_model(MICRO).eval()
    spec = EvalSpec(["a circle", "a square"], samples_per_prompt=3, steps=2, noise_seed=5)
    whole = generate(Policy(model), spec)
    parts = generate(Policy(model), EvalSpec(**{**spec.__dict__, "batch": 4}))
    assert torch.allclose(whole, parts, atol=1e-5)
