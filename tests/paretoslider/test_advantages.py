import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paretoslider.advantages import (
    early_scalarized_advantages,
    group_normalize,
    single_loss_advantages,
)


def test_group_normalize_exact_values_and_zero_std_fraction():
    r = torch.tensor([[1.0, 10.0], [3.0, 10.0], [0.0, 5.0], [0.0, 7.0]])
    groups = torch.tensor([0, 0, 1, 1])
    adv, frac = group_normalize(r, groups)
    k = 1 / (1 + 1e-4)  # |r - mean| = std = 1 in each non-constant column
    assert adv.tolist() == [
        pytest.approx([-k, 0.0]),
        pytest.approx([k, 0.0]),
        pytest.approx([0.0, -k]),
        pytest.approx([0.0, k]),
    ]
    assert frac == 0.5  # group 0 objective 1 and group 1 objective 0 are constant


def test_group_normalize_uses_population_std_and_clips_at_5():
    # one success among 30: z = sqrt(29) = 5.385 > 5 is clipped; the others get
    # -(1/30) / (sqrt(29)/30 + 1e-4) = -0.1855919...
    r = torch.zeros(30)
    r[7] = 1.0
    adv, frac = group_normalize(r, torch.zeros(30, dtype=torch.long))
    assert adv.shape == (30,)
    assert adv[7].item() == 5.0
    assert adv[0].item() == pytest.approx(-0.18559194749869076, rel=1e-6)
    assert frac == 0.0


def test_group_labels_need_not_be_contiguous():
    r = torch.tensor([[2.0], [5.0], [4.0], [1.0]])
    adv, _ = group_normalize(r, torch.tensor([9, 3, 9, 3]))
    k1, k2 = 1 / (1 + 1e-4), 2 / (2 + 1e-4)  # group 9: std 1; group 3: std 2
    assert adv.flatten().tolist() == pytest.approx([-k1, k2, k1, -k2])


@settings(max_examples=30, deadline=None)
@given(scale=st.floats(1.0, 1e3), seed=st.integers(0, 1000))
def test_group_normalize_is_scale_invariant_per_objective(scale, seed):
    g = torch.Generator().manual_seed(seed)
    r = torch.randn(24, 2, generator=g, dtype=torch.float64)
    groups = torch.arange(3).repeat_interleave(8)
    scaled = r.clone()
    scaled[:, 1] *= scale
    a, _ = group_normalize(r, groups)
    b, _ = group_normalize(scaled, groups)
    # only the 1e-4 in (std + 1e-4) sees the scale: relative change <= 1e-4 / std
    assert torch.allclose(a, b, rtol=1e-3, atol=1e-12)


def test_single_loss_advantages_sum_then_renormalise_over_batch():
    adv = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    w = torch.tensor([[0.5, 0.5], [0.5, 0.5], [1.0, 0.0], [0.0, 1.0]])
    # weighted sums [0.5, -0.5, 0, -1]: mean -0.25, population std sqrt(0.3125)
    out = single_loss_advantages(adv, w)
    assert out.tolist() == pytest.approx(
        [1.3414008294247004, -0.44713360980823347, 0.44713360980823347, -1.3414008294247004],
        rel=1e-6,
    )


def test_early_scalarisation_sums_raw_rewards_first():
    r = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    w = torch.full((2, 2), 0.5)
    groups = torch.zeros(2, dtype=torch.long)
    adv, frac = early_scalarized_advantages(r, w, groups)
    assert adv.tolist() == [0.0, 0.0] and frac == 1.0  # the two rewards cancel exactly
    r[:, 1] *= 100  # weighted sums [0.5, 50]: std 24.75
    adv, frac = early_scalarized_advantages(r, w, groups)
    k = 24.75 / (24.75 + 1e-4)
    assert adv.tolist() == pytest.approx([-k, k]) and frac == 0.0
    late, _ = group_normalize(r, groups)
    # late: each column on its own scale, std 0.5 and 50
    a, b = 0.5 / (0.5 + 1e-4), 50 / (50 + 1e-4)
    assert late.tolist() == [pytest.approx([a, -b]), pytest.approx([-a, b])]
