import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paretoslider.preferences import (
    DirichletSampler,
    FixedSampler,
    StructuredSampler,
    draw_structured,
    eval_grid,
    grid_size,
    make_w_sampler,
    stable_seed,
    validate_w,
)


def test_validate_w_accepts_simplex_rows():
    w = validate_w([[0.25, 0.75], [1.0, 0.0]], 2)
    assert w.dtype == torch.float32 and w.shape == (2, 2)
    assert validate_w([0.2, 0.3, 0.5]).tolist() == pytest.approx([0.2, 0.3, 0.5])


@pytest.mark.parametrize(
    "w, m, match",
    [
        ([0.5, 0.5], 3, "3 objectives"),
        ([1.5, -0.5], 2, "negative"),
        ([float("nan"), 1.0], 2, "non-finite"),
        ([float("inf"), 0.0], 2, "non-finite"),
        ([0.5, 0.5 + 2e-6], 2, "sum to 1"),
        (0.5, None, "scalar"),
    ],
)
def test_validate_w_rejects_with_one_line_message(w, m, match):
    with pytest.raises(ValueError, match=match) as err:
        validate_w(w, m)
    assert "\n" not in str(err.value)


def test_validate_w_tolerance_is_1e_6():
    w = validate_w(torch.tensor([0.5, 0.5 + 5e-7], dtype=torch.float64))  # accepted, not raised
    assert w.shape == (2,) and abs(float(w.sum()) - 1) < 1e-6


def test_stable_seed_is_a_fixed_function_of_its_parts():
    # sha256-based: the same value in every process (Python's hash() is salted per process)
    assert stable_seed("a circle", 0, 1) == 5551092288616932474
    assert stable_seed("a circle", 0, 1) != stable_seed("a circle", 1, 0)


@settings(max_examples=40, deadline=None)
@given(
    prompt=st.text(max_size=12),
    epoch=st.integers(0, 10_000),
    m=st.integers(2, 5),
    k=st.integers(1, 4),
    seed=st.integers(0, 3),
)
def test_structured_sampler_rows_valid_distinct_deterministic(prompt, epoch, m, k, seed):
    sampler = StructuredSampler(m, seed)
    ws = sampler(prompt, epoch, k)
    assert ws.shape == (k, m)
    validate_w(ws, m)
    assert torch.equal(ws, StructuredSampler(m, seed)(prompt, epoch, k))
    for i in range(k):
        for j in range(i):
            assert (ws[i] - ws[j]).abs().max() > 1e-9


@settings(max_examples=25, deadline=None)
@given(m=st.integers(2, 5), alpha=st.floats(0.2, 5.0), epoch=st.integers(0, 100))
def test_dirichlet_sampler_rows_on_simplex(m, alpha, epoch):
    ws = DirichletSampler(m, alpha)("p", epoch, 3)
    validate_w(ws, m)
    assert ws.shape == (3, m)


def test_first_slots_do_not_depend_on_k():
    # the slot seeds do not involve K: asking for more preferences keeps the first ones
    s = StructuredSampler(3)
    assert torch.equal(s("a", 4, 2), s("a", 4, 5)[:2])


def _kinds(ws):
    nonzero = (ws > 0).sum(1)
    return {n: float((nonzero == n).mean()) for n in range(1, ws.shape[1] + 1)}


def test_structured_mixture_two_objectives():
    rng = np.random.default_rng(0)
    ws = np.stack([draw_structured(2, rng) for _ in range(8000)])
    kinds = _kinds(ws)
    assert kinds[1] == pytest.approx(0.10, abs=0.015)  # sd 0.0034
    corners = ws[(ws > 0).sum(1) == 1]
    assert (corners[:, 0] == 1).mean() == pytest.approx(0.5, abs=0.06)
    inner = ws[(ws > 0).sum(1) == 2, 0]  # Dirichlet(1,1): uniform on the segment
    assert inner.mean() == pytest.approx(0.5, abs=0.02)
    assert inner.var() == pytest.approx(1 / 12, abs=0.006)


def test_structured_mixture_three_or_more_objectives():
    rng = np.random.default_rng(1)
    for m in (3, 5):
        ws = np.stack([draw_structured(m, rng) for _ in range(8000)])
        kinds = _kinds(ws)
        assert kinds[1] == pytest.approx(0.50, abs=0.02)
        assert kinds[2] == pytest.approx(0.35, abs=0.02)
        assert kinds[m] == pytest.approx(0.15, abs=0.015)
        assert sum(kinds.values()) == pytest.approx(1.0)


def test_dirichlet_sampler_mean_is_alpha_over_sum():
    s = DirichletSampler(3, [1.0, 2.0, 5.0])
    ws = torch.cat([s("p", e, 4) for e in range(1000)])
    assert ws.mean(0).tolist() == pytest.approx([0.125, 0.25, 0.625], abs=0.01)


def test_fixed_sampler_and_factory():
    ws = FixedSampler([0.3, 0.7])("anything", 12, 3)
    assert ws.tolist() == [pytest.approx([0.3, 0.7])] * 3
    assert isinstance(make_w_sampler("structured", 2), StructuredSampler)
    assert isinstance(make_w_sampler("dirichlet", 2, alpha=0.5), DirichletSampler)
    with pytest.raises(ValueError, match="known: dirichlet, fixed, structured"):
        make_w_sampler("uniform", 2)
    with pytest.raises(ValueError, match="needs a w"):
        make_w_sampler("fixed", 2)
    with pytest.raises(ValueError, match="expected 3"):
        make_w_sampler("fixed", 3, w=[0.5, 0.5])
    with pytest.raises(ValueError, match="alpha"):
        DirichletSampler(2, 0.0)


def test_eval_grid_two_objectives_is_the_11_point_line():
    g = eval_grid(2)
    assert g.shape == (11, 2)
    assert g[:, 0].tolist() == pytest.approx([i / 10 for i in range(11)])
    assert g.sum(1).tolist() == pytest.approx([1.0] * 11)
    assert eval_grid(2, 5)[:, 0].tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1])


def test_eval_grid_das_dennis():
    g = eval_grid(3)  # 5 partitions: step 0.2, C(7, 2) = 21 points
    assert g.shape == (21, 3) == (grid_size(3, 5), 3)
    assert torch.allclose(g * 5, (g * 5).round(), atol=1e-5)
    assert len({tuple((r * 5).round().int().tolist()) for r in g}) == 21
    assert [0.2, 0.4, 0.4] in [pytest.approx(r.tolist()) for r in g]
    assert eval_grid(4).shape == (35, 4) and eval_grid(5).shape == (35, 5)
    assert eval_grid(3, 2).shape == (6, 3)
    validate_w(eval_grid(5), 5)
    with pytest.raises(ValueError):
        eval_grid(0)
