"""The computed memory table's arithmetic, on hand-made counts with known answers."""
from __future__ import annotations

import pytest
from diffusers import SD3Transformer2DModel

from bench.cli import gpu_check
from bench.cli import memory_table as mt

COUNTS = mt.ModelCounts(transformer=10**9, trained=10**6, hidden=10, blocks=2, image_tokens=90,
                        text_tokens=10, vae=0, rewards=0, judges=0, pixels=100)


def test_training_and_evaluation_bytes_by_hand():
    # 2 B x 1e9 frozen + 28 B x 1e6 trained + 1 sample x 100 tokens x 10 x 2 B x 35 x 2 blocks
    assert mt.training_gb(COUNTS, 1) == pytest.approx(2.028 + 140_000 / 1e9 + mt.OVERHEAD_GB)
    # checkpointing keeps 2 inputs per block plus one block's 35 tensors
    assert mt.training_gb(COUNTS, 3, checkpointing=True) == pytest.approx(
        2.028 + 3 * 2000 * 39 / 1e9 + mt.OVERHEAD_GB)
    # decoding 8 images of 100 px at 4096 B per pixel outweighs the forward's 24,000 B
    assert mt.evaluation_gb(COUNTS, 1) == pytest.approx(2.008 + 3_276_800 / 1e9 + mt.OVERHEAD_GB)


def test_largest_fitting_batch_keeps_headroom():
    assert mt.largest_fitting(lambda b: float(b), 10) == 9  # 90 % of 10
    assert mt.largest_fitting(lambda b: 100.0, 10) == 0
    assert mt.largest_fitting(lambda b: 0.0, 10) == 64
    assert "| 80 GB | 64+ (" in mt.table(COUNTS)


def test_counts_from_a_config_match_the_built_model():
    config = gpu_check.TINY["transformer"]  # 2 blocks, D = 16, a second attention in block 0
    total, trained = mt.transformer_counts(config, lora_rank=2, lora_targets=["attn.to_q"],
                                           num_objectives=2)
    model = SD3Transformer2DModel(**config)
    assert total == sum(p.numel() for p in model.parameters()) + sum(
        b.numel() for b in model.buffers())
    # attn.to_q (not attn2.to_q) of each of 2 blocks: 16 -> 16, so 2 x 2 x (16 + 16) LoRA parameters; the
    # preference modules for D = 16, M = 2: temb (2*16+16 + 16*16+16) + authors' projector
    # (4*768+768 + 768*16+16 + 3 * (16*16+16))
    preference = (2 * 16 + 16 + 16 * 16 + 16) + (4 * 768 + 768 + 768 * 16 + 16 + 3 * (256 + 16))
    assert trained == 2 * 2 * 32 + preference
