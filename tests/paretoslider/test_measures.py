"""Known answers of the measured rewards and their held-out twins on hand-made images."""
import pytest
import torch

from paretoslider.rewards import build_reward
from paretoslider.rewards.measures import MEASURES
from paretoslider.rewards.photometric import lab
from paretoslider.worlds.shapes import sample_batch

torch.set_num_threads(1)
TWINS = {"jpeg": "jpeg_heldout", "colourfulness": "colourfulness_heldout",
         "brightness": "brightness_heldout", "contrast": "contrast_heldout", "size": "size_heldout"}


def flat(*rgb, n=1, size=16):
    return torch.tensor(rgb, dtype=torch.float32).view(1, 3, 1, 1).expand(n, 3, size, size).clone()


def score(name, images):
    return build_reward(name)(images, ["a square"] * len(images))


def test_every_measure_has_a_heldout_twin_and_a_range():
    assert set(MEASURES) == set(TWINS) | set(TWINS.values())
    for train, twin in TWINS.items():
        assert not build_reward(train).heldout and build_reward(twin).heldout
    for name in MEASURES:
        lo, hi = build_reward(name).range
        assert lo < hi


def test_brightness_known_answers():
    images = torch.cat([flat(0, 0, 0), flat(1, 1, 1), flat(0.5, 0.5, 0.5), flat(0, 1, 0)])
    assert score("brightness", images).tolist() == pytest.approx([0, 1, 0.5, 0.7152], abs=1e-6)
    # L* of black, white, mid-grey (sRGB 0.5 -> 53.39) and pure green (87.74)
    assert score("brightness_heldout", images).tolist() == pytest.approx(
        [0, 100, 53.389, 87.735], abs=0.01)


def test_contrast_known_answers():
    half = flat(0, 0, 0)
    half[:, :, :, :8] = 1.0
    images = torch.cat([flat(0.3, 0.6, 0.2), half])
    assert score("contrast", images).tolist() == pytest.approx([0, 0.5], abs=1e-6)
    assert score("contrast_heldout", images).tolist() == pytest.approx([0, 100], abs=1e-3)


def test_colour_measures_are_zero_on_greys_and_one_colour_images():
    ramp = torch.linspace(0, 1, 16).view(1, 1, 1, 16).expand(1, 3, 16, 16)
    greys = torch.cat([flat(0.5, 0.5, 0.5), ramp, flat(1, 1, 1)])
    assert score("colourfulness_heldout", greys).abs().max() < 1e-3
    # one colour: Hasler-Suesstrunk's spread term vanishes, only 0.3 x its mean level remains
    red = flat(1, 0, 0)
    assert score("colourfulness_heldout", red).item() == pytest.approx(104.55, abs=0.1)  # C*ab
    assert lab(red)[0, :, 0, 0].tolist() == pytest.approx([53.24, 80.09, 67.20], abs=0.05)


@pytest.mark.parametrize("figure, background", [((0.9, 0.1, 0.1), (0.2, 0.8, 0.3)),
                                                ((0, 0, 0), (0.9, 0.9, 0.9))])
def test_size_of_a_filled_rectangle_is_its_area(figure, background):
    img = flat(*background)
    img[:, :, 4:10, 3:11] = torch.tensor(figure).view(1, 3, 1, 1)  # 6 x 8 = 48 pixels
    assert score("size", img).item() == pytest.approx(48 / 256)
    assert score("size", flat(*background)).item() == 0
    # in CIELAB too, although the red figure and the green ground share their lightness
    assert score("size_heldout", img).item() == pytest.approx(48 / 256)
    assert score("size_heldout", flat(*background)).item() == 0


def test_size_ignores_a_background_ramp():
    ys = torch.linspace(0, 1, 16).view(1, 1, 16, 1)
    img = (0.2 + 0.5 * ys * torch.tensor([1.0, 0.5, 0.2]).view(1, 3, 1, 1)).expand(1, 3, 16, 16).clone()
    img[:, :, 6:10, 6:10] = 1.0
    assert score("size", img).item() == pytest.approx(16 / 256)


def test_compressibility_twins_prefer_flat_images():
    noisy = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    images = torch.cat([flat(0.4, 0.4, 0.4), noisy])
    for name in ("jpeg", "jpeg_heldout"):
        values = score(name, images)
        lo, hi = build_reward(name).range
        assert values[0] > values[1] and lo <= values.min() and values.max() <= hi


@pytest.mark.parametrize("name", MEASURES)
def test_declared_ranges_cover_world_renders(name):
    batch = sample_batch(256, seed=4242)
    values = build_reward(name)(batch.images, batch.prompts)
    lo, hi = build_reward(name).range
    assert lo <= values.min().item() and values.max().item() <= hi
    assert (values.max() - values.min()).item() > 0.4 * (hi - lo)
