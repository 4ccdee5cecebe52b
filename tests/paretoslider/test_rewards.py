import math

import pytest
import torch

from paretoslider.registry import UnknownNameError
from paretoslider.rewards import REWARDS, Reward, build_reward, normalise
from paretoslider.rewards.measures import colourfulness, jpeg_kilobytes
from paretoslider.worlds.shapes import STYLES, sample_batch

TRAINING = {*STYLES, "adherence", "jpeg", "colourfulness"}
HELDOUT = {f"{s}_heldout" for s in STYLES} | {"adherence_heldout"}


@pytest.fixture(scope="module")
def world():
    torch.set_num_threads(1)
    return sample_batch(256, seed=4242)


def test_every_builtin_reward_is_registered_with_range_and_direction(tmp_path):
    assert set(REWARDS.names()) >= TRAINING | HELDOUT
    for name in TRAINING | HELDOUT:
        kwargs = {} if name in ("jpeg", "colourfulness") else {"judge_dir": tmp_path}
        r = build_reward(name, **kwargs)  # judges load lazily: no weights needed to build
        assert isinstance(r, Reward) and r.name == name
        lo, hi = r.range
        assert lo < hi
        assert r.direction == "max"
        assert r.heldout == (name in HELDOUT)


def test_unknown_reward_lists_known_names():
    with pytest.raises(UnknownNameError) as err:
        build_reward("aesthetics_v9")
    msg = str(err.value)
    assert "aesthetics_v9" in msg and "photo" in msg and "jpeg" in msg and "adherence" in msg


def test_normalise_maps_range_to_unit_interval():
    out = normalise(torch.tensor([-2.0, -1.0, 0.0, 1.0, 3.0]), (-1.0, 1.0))
    assert torch.allclose(out, torch.tensor([0.0, 0.0, 0.5, 1.0, 1.0]))
    raw = normalise(torch.tensor([3.0]), (-1.0, 1.0), clip=False)
    assert raw.item() == pytest.approx(2.0)
    with pytest.raises(ValueError):
        normalise(torch.tensor([0.0]), (1.0, 1.0))


def test_reward_checks_image_shape_and_prompt_count():
    r = build_reward("colourfulness")
    with pytest.raises(ValueError, match="B, 3, H, W"):
        r(torch.zeros(2, 1, 16, 16), ["a circle"] * 2)
    with pytest.raises(ValueError, match="prompts"):
        r(torch.zeros(2, 3, 16, 16), ["a circle"])


def test_jpeg_prefers_flat_over_noisy_images():
    flat = torch.full((1, 3, 16, 16), 0.4)
    noisy = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    r = build_reward("jpeg")
    scores = r(torch.cat([flat, noisy]), ["a circle"] * 2)
    assert scores[0] > scores[1]
    assert scores.tolist() == pytest.approx((-jpeg_kilobytes(torch.cat([flat, noisy]))).tolist())
    # The declared range covers both extremes at the world's 16x16 size.
    lo, hi = r.range
    assert lo <= scores.min() and scores.max() <= hi


def test_colourfulness_known_answers():
    grey = torch.full((2, 3, 16, 16), 0.5)
    grey[1] = torch.linspace(0, 1, 16).view(1, 1, 16)  # grey ramp: still no colour
    assert colourfulness(grey).abs().max().item() < 1e-4
    red = torch.zeros(1, 3, 8, 8)
    red[:, 0] = 1.0
    # Flat red: no spread, mean rg = 255, mean yb = 127.5.
    assert colourfulness(red).item() == pytest.approx(0.3 * math.hypot(255, 127.5), rel=1e-5)


@pytest.mark.parametrize("name", ["jpeg", "colourfulness"])
def test_measured_ranges_cover_world_images(world, name):
    r = build_reward(name)
    values = r(world.images, world.prompts)
    lo, hi = r.range
    assert lo <= values.min().item() and values.max().item() <= hi
    # The range is not absurdly wide either: world images use a good part of it.
    assert (values.max() - values.min()).item() > 0.4 * (hi - lo)
