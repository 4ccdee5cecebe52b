"""The silhouette adherence: hand-made figures with known answers, and accuracy on renders."""
import json
import math

import pytest
import torch
import torch.nn.functional as F

from paretoslider.rewards import build_reward
from paretoslider.rewards.silhouette import (
    BIAS,
    VALIDATION_SEED,
    best_templates,
    calibrate,
    figure_map,
    probabilities,
    shape_fits,
    style_groups,
)
from paretoslider.worlds.shapes import SHAPES, STYLES, sample_batch

SIZE = 16
CENTRE = (SIZE - 1) / 2  # pixel centres run 0..15, the image's middle is at 7.5


def pixel_grid():
    y, x = torch.meshgrid(torch.arange(SIZE).float(), torch.arange(SIZE).float(), indexing="ij")
    return x, y


def masks() -> dict[str, torch.Tensor]:
    """Hand-drawn 16 x 16 masks, each centred 1.5 px right of and 1.5 px above the middle:
    centre (x, y) = (9, 6) in pixels, (0.1875, -0.1875) in image coordinates."""
    x, y = pixel_grid()
    dx, dy = x - 9, y - 6
    tri = (dy <= 3) & (dy >= -3.5) & (dx.abs() <= (dy + 3.5) / math.sqrt(3) + 0.3)
    return {
        "circle": dx**2 + dy**2 <= 4.2**2,
        "square": (dx.abs() <= 3.5) & (dy.abs() <= 3.5),
        "triangle": tri,
        "cross": ((dx.abs() <= 1.5) & (dy.abs() <= 4.5)) | ((dy.abs() <= 1.5) & (dx.abs() <= 4.5)),
    }


def paint(mask: torch.Tensor, figure=(0.9, 0.3, 0.2), background=(0.2, 0.25, 0.3)):
    """A (1, 3, 16, 16) image: the mask in one flat colour on another."""
    fig = torch.tensor(figure).view(3, 1, 1)
    bg = torch.tensor(background).view(3, 1, 1)
    return (bg + (fig - bg) * mask.float()).unsqueeze(0)


def outline(mask: torch.Tensor) -> torch.Tensor:
    """The mask's inner boundary: pixels of the mask with a 4-neighbour outside it."""
    m = mask.float()[None, None]
    inside = -F.max_pool2d(-F.pad(m, (1, 1, 1, 1), value=0.0), 3, stride=1)[0, 0]
    return mask & (inside < 1)


@pytest.mark.parametrize("shape", SHAPES)
def test_a_filled_figure_is_its_shape_at_its_place(shape):
    fits, params = best_templates(paint(masks()[shape]))
    k = SHAPES.index(shape)
    assert fits[0].argmax().item() == k
    assert fits[0, k] > 0.85  # R^2 of a hard-edged figure against antialiased templates
    cx, cy = params[0, k, :2].tolist()
    # centre (9, 6) px: within one pixel (0.125); a triangle's box centre sits below its own
    assert abs(cx - 0.1875) <= 0.125 + 1e-6
    assert abs(cy + 0.1875) <= (0.25 if shape == "triangle" else 0.125) + 1e-6
    assert probabilities(fits)[0, k] > 0.9


@pytest.mark.parametrize("shape", SHAPES)
def test_an_outline_is_recognised_like_a_filled_figure(shape):
    drawn = paint(outline(masks()[shape]), figure=(0.1, 0.1, 0.1), background=(0.95,) * 3)
    assert shape_fits(drawn)[0].argmax().item() == SHAPES.index(shape)


def test_swapping_figure_and_background_colours_changes_nothing():
    # the figure map is a distance from the background: |a - b| = |b - a|
    mask = masks()["cross"]
    a = shape_fits(paint(mask, (0.9, 0.9, 0.9), (0.1, 0.1, 0.1)))
    b = shape_fits(paint(mask, (0.1, 0.1, 0.1), (0.9, 0.9, 0.9)))
    torch.testing.assert_close(a, b)


def test_a_flat_image_fits_nothing_and_gets_the_prior():
    fits = shape_fits(torch.full((2, 3, SIZE, SIZE), 0.4))
    assert torch.equal(fits, torch.zeros(2, len(SHAPES)))
    torch.testing.assert_close(probabilities(fits)[0], torch.softmax(torch.tensor(BIAS), 0))


def test_figure_map_is_the_square_root_of_the_distance_from_the_background():
    img = paint(masks()["square"], figure=(0.6, 0.2, 0.2), background=(0.2, 0.2, 0.2))
    d = figure_map(img).view(SIZE, SIZE)
    assert d[6, 9].item() == pytest.approx(0.4**0.5, abs=1e-5)  # inside: sqrt(|0.6 - 0.2|)
    assert d[0, 0].item() == pytest.approx(0.0, abs=1e-5)


def test_the_reward_is_the_prompted_shape_probability():
    reward = build_reward("adherence_shape")
    assert reward.heldout and reward.range == (0.0, 1.0)
    img = paint(masks()["square"]).repeat(3, 1, 1, 1)
    p = reward(img, ["a square", "a sketch of a square", "a circle"])
    assert p[0] == pytest.approx(p[1].item()) and p[0] > 0.9 and p[2] < 0.05
    larger = F.interpolate(img, (32, 32), mode="nearest")  # other sizes are resized to 16
    assert reward(larger, ["a square"] * 3)[0] > 0.9


def test_calibrate_recovers_a_known_softmax_model():
    gen = torch.Generator().manual_seed(0)
    fits = torch.rand(20_000, len(SHAPES), generator=gen)
    slope, bias = 20.0, torch.tensor([0.0, 1.0, -1.0, 0.5])
    labels = torch.multinomial(torch.softmax(slope * fits + bias, 1), 1, generator=gen)[:, 0]
    got_slope, got_bias = calibrate(fits, labels)
    assert got_slope == pytest.approx(slope, rel=0.05)
    assert got_bias == pytest.approx(bias.tolist(), abs=0.1)


def test_accuracy_on_renders_of_every_style_and_blend():
    batch = sample_batch(256, seed=VALIDATION_SEED + 1, style_word_prob=0.0)
    right = probabilities(shape_fits(batch.images)).argmax(1) == batch.shapes
    groups = style_groups(batch.style_weights)
    assert set(groups) >= set(STYLES) and any("+" in g for g in groups)
    assert right.float().mean() >= 0.95
    for style in STYLES:  # every pure style on its own
        mine = torch.tensor([g == style for g in groups])
        assert right[mine].float().mean() >= 0.95, style


def test_the_world_report_scores_each_methods_extremes_from_its_strips(tmp_path):
    from PIL import Image

    from paretoslider.worlds import report

    tiles = torch.cat([paint(masks()["circle"]), paint(masks()["cross"])])  # 2 samples a w
    strip = (torch.cat(list(tiles), dim=2).permute(1, 2, 0) * 255).round().byte().numpy()
    with open(tmp_path / "records.jsonl", "w") as f:
        for i, w in enumerate([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]):
            png = f"samples/m/seed0_w{i}.png"
            (tmp_path / png).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(strip).save(tmp_path / png)
            f.write(json.dumps({"suite": "smoke", "method": "m", "seed": 0, "w": w,
                                "sample_png": png}) + "\n")
    rewards = {n: build_reward(n) for n in report.ADHERENCE_SCORERS}
    ext = report.method_extremes(tmp_path, rewards)
    assert ext["prompt"] == "a circle"  # smoke's strip prompt
    assert list(ext["cells"]) == ["m w=(0,1)", "m w=(1,0)"]  # one-hot w only
    cell = ext["cells"]["m w=(1,0)"]
    assert cell["n"] == 2 and cell["accuracy"]["adherence_shape"] == 0.5  # the cross is wrong
    assert report.method_extremes(tmp_path / "none", rewards) == {}
