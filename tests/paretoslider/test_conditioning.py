import copy

import pytest
import torch

from paretoslider.backbones.tiny_sd3 import TinySD3

VOCAB = ["circle", "square", "photo", "sketch"]


def tiny(mode="both"):
    torch.manual_seed(0)
    model = TinySD3(VOCAB, image_size=8, num_layers=2, num_heads=2, head_dim=8, text_dim=16)
    ref = copy.deepcopy(model)
    model.add_preference(2, mode)
    return model, ref


def inputs(n=4):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 3, 8, 8, generator=g), torch.rand(n, generator=g)


@pytest.mark.parametrize("mode", ["temb", "block", "both"])
def test_starts_at_the_reference_for_any_w(mode):
    model, ref = tiny(mode)
    x, t = inputs()
    cond = model.encode_prompts(["a photo of a circle", "a square", "a circle", "a sketch of a square"])
    with torch.no_grad():
        v_ref = ref(x, t, cond)
        for w in ([1.0, 0.0], [0.0, 1.0], [0.3, 0.7]):
            v = model(x, t, cond, torch.tensor([w]).repeat(4, 1))
            assert (v - v_ref).abs().max() <= 0.01 * v_ref.std()
        assert torch.equal(model(x, t, cond, None), v_ref)


def test_trained_preference_modules_make_w_matter_through_both_paths():
    model, _ = tiny("both")
    for p in model.preference.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x, t = inputs(2)
    cond = model.encode_prompts(["a circle", "a circle"])
    with torch.no_grad():
        a = model(x, t, cond, torch.tensor([[1.0, 0.0]] * 2))
        b = model(x, t, cond, torch.tensor([[0.0, 1.0]] * 2))
    assert (a - b).abs().mean() > 1e-3


def test_a_deep_copy_carries_its_own_hooks():
    model, _ = tiny("block")
    clone = copy.deepcopy(model)
    for p in clone.preference.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x, t = inputs(2)
    cond = model.encode_prompts(["a circle", "a square"])
    w = torch.tensor([[0.5, 0.5]] * 2)
    with torch.no_grad():
        assert not torch.allclose(model(x, t, cond, w), clone(x, t, cond, w))
        assert torch.equal(model(x, t, cond, w), model(x, t, cond, None))


def test_bad_w_shape_and_missing_preference_are_clear_errors():
    model, ref = tiny()
    x, t = inputs(2)
    cond = model.encode_prompts(["a circle", "a square"])
    with pytest.raises(ValueError, match="shape"):
        model(x, t, cond, torch.ones(2, 3) / 3)
    with pytest.raises(ValueError, match="add_preference"):
        ref(x, t, cond, torch.ones(2, 2) / 2)
