import pytest
import torch

from paretoslider.worlds import shapes


def test_rendering_is_deterministic_and_seed_dependent():
    a = shapes.sample_batch(8, seed=3)
    b = shapes.sample_batch(8, seed=3)
    c = shapes.sample_batch(8, seed=4)
    assert torch.equal(a.images, b.images) and a.prompts == b.prompts
    assert not torch.equal(a.images, c.images)


def test_images_are_rgb_in_unit_range_with_requested_size():
    b = shapes.sample_batch(5, seed=0, size=24)
    assert b.images.shape == (5, 3, 24, 24)
    assert b.images.min() >= 0 and b.images.max() <= 1
    assert torch.allclose(b.style_weights.sum(1), torch.ones(5))


def test_blend_is_between_its_pure_styles():
    shape = torch.tensor([0])
    photo, sketch = torch.tensor([[1.0, 0, 0, 0]]), torch.tensor([[0, 1.0, 0, 0]])
    half = torch.tensor([[0.5, 0.5, 0, 0]])
    ip, isk, ih = (shapes.render(shape, w, seed=1) for w in (photo, sketch, half))
    assert torch.allclose(ih, (ip + isk) / 2, atol=1e-5)


def test_sketch_is_light_and_neon_is_dark():
    n = 16
    shape_ids = torch.arange(n) % len(shapes.SHAPES)

    def onehot(i):
        return torch.nn.functional.one_hot(torch.full((n,), i), 4).float()

    sketch = shapes.render(shape_ids, onehot(shapes.STYLES.index("sketch")), seed=0)
    neon = shapes.render(shape_ids, onehot(shapes.STYLES.index("neon")), seed=0)
    assert sketch.mean() > 0.75 and neon.mean() < 0.35


def test_shapes_differ_in_silhouette():
    w = torch.tensor([[0, 1.0, 0, 0]]).repeat(4, 1)
    imgs = shapes.render(torch.arange(4), w, seed=0)  # same seed: same size/position draws
    ink = (imgs.mean(1) < 0.6).float()
    for i in range(4):
        for j in range(i + 1, 4):
            assert (ink[i] - ink[j]).abs().sum() > 5


def test_prompt_grammar_round_trips():
    for shape in shapes.SHAPES:
        assert shapes.parse_prompt(shapes.make_prompt(shape)) == (shape, None)
        for style in shapes.STYLES:
            assert shapes.parse_prompt(shapes.make_prompt(shape, style)) == (shape, style)
    with pytest.raises(ValueError, match="names no shape"):
        shapes.parse_prompt("a photo of a dog")


def test_style_words_name_the_dominant_style():
    b = shapes.sample_batch(200, seed=0, style_word_prob=1.0)
    for prompt, w in zip(b.prompts, b.style_weights):
        _, style = shapes.parse_prompt(prompt)
        assert shapes.STYLES[int(w.argmax())] == style
