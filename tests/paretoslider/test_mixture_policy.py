"""A switching (mixture) policy draws each row's component in proportion to w, reproducibly."""
import pytest
import torch

from paretoslider.methods import MixturePolicy, Policy

PARTS = [Policy(None), Policy(None), Policy(None)]


def test_rows_go_to_each_component_in_proportion_to_its_probability():
    which = MixturePolicy(PARTS, (0.2, 0.5, 0.3), seed=0).assign(20_000)
    share = torch.bincount(which, minlength=3) / 20_000
    # binomial standard deviation at n = 20,000 is at most 0.0036: 3 of them
    assert torch.allclose(share, torch.tensor([0.2, 0.5, 0.3]), atol=0.011)


def test_vertices_send_every_row_to_one_component():
    assert MixturePolicy(PARTS[:2], (1.0, 0.0)).assign(500).eq(0).all()
    assert MixturePolicy(PARTS[:2], (0.0, 1.0)).assign(500).eq(1).all()


def test_a_row_draw_depends_only_on_seed_w_and_row():
    mix = MixturePolicy(PARTS[:2], (0.5, 0.5), seed=3)
    assert torch.equal(mix.assign(64)[:32], mix.assign(32))  # row r: same whatever the count
    assert torch.equal(mix.assign(64), MixturePolicy(PARTS[:2], (0.5, 0.5), seed=3).assign(64))
    assert not torch.equal(mix.assign(64), MixturePolicy(PARTS[:2], (0.5, 0.5), 4).assign(64))
    assert not torch.equal(mix.assign(64), MixturePolicy(PARTS[:2], (0.4, 0.6), 3).assign(64))


@pytest.mark.parametrize("probs", [(0.5, 0.6), (1.2, -0.2), (1.0,)])
def test_probabilities_off_the_simplex_are_refused(probs):
    with pytest.raises(ValueError, match="mixture probabilities"):
        MixturePolicy(PARTS[:2], probs)
