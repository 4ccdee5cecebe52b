"""A tiny text-to-image flow model: diffusers' SD3Transformer2DModel in pixel space.

The prompt encoder is a word-level lookup table over a fixed vocabulary (the shapes world's
shape and style words), trained with the transformer during pretraining and frozen after.
Words outside the vocabulary are ignored, as a tokenizer's unknown words would carry little.
"""
from __future__ import annotations

from typing import Any

import torch
from diffusers import SD3Transformer2DModel
from torch import nn

from paretoslider.backbones.base import Cond, FlowBackbone
from paretoslider.conditioning import PreferenceConditioning


class WordPromptEncoder(nn.Module):
    """Prompt -> (sequence of word embeddings, pooled embedding), like SD3's text encoders."""

    def __init__(self, vocab: list[str], dim: int, pooled_dim: int, max_words: int = 2):
        super().__init__()
        self.vocab = list(vocab)
        self.index = {w: i + 1 for i, w in enumerate(self.vocab)}  # 0 = padding
        self.max_words = max_words
        self.tokens = nn.Embedding(len(vocab) + 1, dim)
        self.pooled = nn.Embedding(len(vocab) + 1, pooled_dim)

    def token_ids(self, prompts: list[str]) -> torch.Tensor:
        ids = torch.zeros(len(prompts), self.max_words, dtype=torch.long)
        for row, prompt in enumerate(prompts):
            words = [self.index[w] for w in prompt.lower().split() if w in self.index]
            words = sorted(words)[: self.max_words]  # order-free: 'sketch circle' == 'circle sketch'
            ids[row, : len(words)] = torch.tensor(words, dtype=torch.long)
        return ids

    def forward(self, prompts: list[str]) -> Cond:
        ids = self.token_ids(prompts)
        mask = (ids > 0).float().unsqueeze(-1)
        return {
            "encoder_hidden_states": self.tokens(ids),
            "pooled_projections": (self.pooled(ids) * mask).sum(1),
        }


class TinySD3(FlowBackbone):
    def __init__(
        self,
        vocab: list[str],
        image_size: int = 16,
        channels: int = 3,
        num_layers: int = 6,
        num_heads: int = 4,
        head_dim: int = 16,
        text_dim: int = 64,
        patch_size: int = 2,
        dual_attention_layers: tuple[int, ...] = (),
    ):
        super().__init__()
        self._config = {
            "vocab": list(vocab), "image_size": image_size, "channels": channels,
            "num_layers": num_layers, "num_heads": num_heads, "head_dim": head_dim,
            "text_dim": text_dim, "patch_size": patch_size,
        }
        if dual_attention_layers:  # SD3.5's second attention; absent from older configs
            self._config["dual_attention_layers"] = list(dual_attention_layers)
        self.image_shape = (channels, image_size, image_size)
        self.transformer = SD3Transformer2DModel(
            sample_size=image_size,
            patch_size=patch_size,
            in_channels=channels,
            out_channels=channels,
            num_layers=num_layers,
            attention_head_dim=head_dim,
            num_attention_heads=num_heads,
            joint_attention_dim=text_dim,
            caption_projection_dim=num_heads * head_dim,
            pooled_projection_dim=text_dim,
            pos_embed_max_size=image_size // patch_size,
            dual_attention_layers=tuple(dual_attention_layers),
        )
        self.text = WordPromptEncoder(vocab, text_dim, text_dim)
        self.preference: PreferenceConditioning | None = None

    def config(self) -> dict[str, Any]:
        return dict(self._config)

    def encode_prompts(self, prompts: list[str]) -> Cond:
        return self.text(prompts)

    def add_preference(self, num_objectives: int, mode: str = "both",
                       projector: str = "zero") -> None:
        inner = self.transformer.config.num_attention_heads * self.transformer.config.attention_head_dim
        self.preference = PreferenceConditioning(num_objectives, inner, mode, projector=projector)
        self.preference.attach(self.transformer)
        self.num_objectives = num_objectives

    def forward(self, x_t, t, cond: Cond, w=None):
        timestep = t.expand(x_t.shape[0]) * 1000  # SD3 embeds t scaled to [0, 1000]
        return self.run_transformer(w, hidden_states=x_t, timestep=timestep, return_dict=False,
                                    **cond)
