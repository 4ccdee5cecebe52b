"""Stable Diffusion 3.5 (Medium by default) through diffusers, in latent space.

The denoiser is diffusers' SD3Transformer2DModel, conditioned on w by the same hooks as the
tiny backbone (`paretoslider.conditioning`). The VAE and the three text encoders stay frozen
and live outside the module tree: any copy of the backbone shares them instead of copying
~6B frozen parameters, and full fine-tuning never unfreezes them. The trainer makes no
copy of the transformer either (`shares_transformer`): its old policy and reference are
views of the policy's one transformer (paretoslider.trainer.shared). Prompt embeddings are
computed once per prompt string and cached (on the CPU).

The trainer keeps its tensors on the CPU in float32; `forward` and `decode` move inputs to
the transformer's device and dtype and return results where the inputs were, so the same
trainer drives a GPU model unchanged. `SD3World` is the harness's view of it (`world: sd35`).
`sampler` ({shift, grid, solver}) is how the model is sampled when a caller does not say:
the harness's evaluation, say (SD3's scheduler: shift 3 on its own grid).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

from paretoslider.backbones.base import Cond, FlowBackbone
from paretoslider.conditioning import PreferenceConditioning
from paretoslider.samplers import SamplerSettings
from paretoslider.weights import resolve_weights, wrap_load_error

DEFAULT_MODEL = "stabilityai/stable-diffusion-3.5-medium"
ENV_VAR = "PARETOSLIDER_SD3"
# what the backbone reads from a hub snapshot (not the single-file checkpoints beside it)
ALLOW_PATTERNS = [
    "model_index.json", "scheduler/*", "transformer/*", "vae/*", "tokenizer/*", "tokenizer_2/*",
    "tokenizer_3/*", "text_encoder/*", "text_encoder_2/*", "text_encoder_3/*",
]
PromptFn = Callable[[list[str]], Cond]


class PromptCache:
    """Prompt string -> its embedding rows, computed by `encode` on first use, then kept.

    `encode` maps a list of prompts to a batched Cond; with `encode=None` only the
    precomputed entries are known (a dict prompt -> Cond of unbatched tensors).
    """

    def __init__(self, encode: PromptFn | None = None, precomputed: dict[str, Cond] | None = None):
        self.encode = encode
        self.cache: dict[str, Cond] = {p: dict(c) for p, c in (precomputed or {}).items()}

    def __call__(self, prompts: list[str]) -> Cond:
        missing = list(dict.fromkeys(p for p in prompts if p not in self.cache))
        if missing:
            if self.encode is None:
                known = ", ".join(map(repr, list(self.cache)[:5]))
                raise KeyError(f"no prompt embedding for {missing[0]!r} and no text encoder to "
                               f"compute it; precomputed prompts include {known}")
            with torch.no_grad():
                batch = self.encode(missing)
            for i, p in enumerate(missing):
                self.cache[p] = {k: v[i].detach().cpu() for k, v in batch.items()}
        rows = [self.cache[p] for p in prompts]
        return {k: torch.stack([r[k] for r in rows]) for k in rows[0]}


class _Shared:
    """Frozen parts every copy of a backbone uses as they are: deepcopy returns this object."""

    def __init__(self, vae: nn.Module, prompts: PromptCache, text_pipeline: Any = None):
        self.vae, self.prompts, self.text_pipeline = vae, prompts, text_pipeline

    def __deepcopy__(self, memo):
        return self


def pipeline_encoder(pipe, max_sequence_length: int = 256) -> PromptFn:
    """Cond from diffusers' StableDiffusion3Pipeline.encode_prompt (three encoders, no CFG)."""

    def encode(prompts: list[str]) -> Cond:
        embeds, _, pooled, _ = pipe.encode_prompt(
            prompt=prompts, prompt_2=None, prompt_3=None, do_classifier_free_guidance=False,
            max_sequence_length=max_sequence_length,
        )
        return {"encoder_hidden_states": embeds, "pooled_projections": pooled}

    return encode


def load_transformer(path: str, dtype: str, gradient_checkpointing: bool = False):
    """SD3.5's frozen transformer from a resolved local folder (raises OSError / ValueError)."""
    from diffusers import SD3Transformer2DModel

    # `torch_dtype`, not the newer `dtype`: older diffusers know only the former
    transformer = SD3Transformer2DModel.from_pretrained(
        path, subfolder="transformer", torch_dtype=getattr(torch, dtype), local_files_only=True)
    transformer.requires_grad_(False)
    if gradient_checkpointing:
        transformer.enable_gradient_checkpointing()
    return transformer


@torch.no_grad()
def decode_latents(vae: nn.Module, x0: torch.Tensor, chunk: int = 8) -> torch.Tensor:
    """Latents -> images in [0, 1] through the VAE (SD3's scaling and shift undone)."""
    dev, dtype = next(vae.parameters()).device, next(vae.parameters()).dtype
    scale, shift = vae.config.scaling_factor, vae.config.shift_factor or 0.0
    out = []
    for part in x0.split(chunk):
        latents = part.to(dev, dtype) / scale + shift
        images = vae.decode(latents, return_dict=False)[0]
        out.append(((images.float().clamp(-1, 1) + 1) / 2).to(x0.device))
    return torch.cat(out)


class SD3Backbone(FlowBackbone):
    """Build from parts (any transformer, VAE and prompt encoder) or with `from_pretrained`."""

    shares_transformer = True  # the trainer's old policy and reference are views, not copies

    def __init__(
        self,
        transformer: nn.Module,
        vae: nn.Module,
        prompts: PromptFn | dict[str, Cond] | PromptCache,
        resolution: int | None = None,
        source: dict[str, Any] | None = None,
        text_pipeline: Any = None,
        sampler: dict | None = None,
    ):
        super().__init__()
        self.sampler_settings = SamplerSettings(**sampler) if sampler else None
        self.transformer = transformer
        vae.requires_grad_(False).eval()
        if not isinstance(prompts, PromptCache):
            prompts = PromptCache(None, prompts) if isinstance(prompts, dict) else PromptCache(prompts)
        self.shared = _Shared(vae, prompts, text_pipeline)
        factor = 2 ** (len(vae.config.block_out_channels) - 1)
        size = resolution or vae.config.sample_size
        if size % (factor * transformer.config.patch_size):
            raise ValueError(f"resolution {size} is not a multiple of "
                             f"{factor * transformer.config.patch_size} (VAE factor x patch size)")
        self.resolution = size
        self.image_shape = (vae.config.latent_channels, size // factor, size // factor)
        self._source = source
        self.preference: PreferenceConditioning | None = None

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls,
        model_path: str | None = None,
        resolution: int = 512,
        dtype: str = "bfloat16",
        device: str | None = None,
        max_sequence_length: int = 256,
        gradient_checkpointing: bool = False,
        sampler: dict | None = None,
        vae_dtype: str | None = None,
    ) -> SD3Backbone:
        """Load from a local directory or hub id (default: $PARETOSLIDER_SD3, else SD3.5-M).

        With HF_HUB_OFFLINE=1 only local files are used; missing files raise one
        MissingWeightsError naming the model and how to provide it. `vae_dtype` (default: the
        transformer's `dtype`) is the VAE's: "float32" decodes in full precision, as the
        authors do."""
        model = model_path or os.environ.get(ENV_VAR) or DEFAULT_MODEL
        settings = SamplerSettings(**(sampler or {}))  # bad settings fail before any loading
        path = resolve_weights(model, "SD3", ENV_VAR, ALLOW_PATTERNS)
        from diffusers import AutoencoderKL, StableDiffusion3Pipeline

        torch_dtype = getattr(torch, dtype)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            transformer = load_transformer(path, dtype, gradient_checkpointing)
            vae = AutoencoderKL.from_pretrained(
                path, subfolder="vae", torch_dtype=getattr(torch, vae_dtype or dtype),
                local_files_only=True)
            pipe = StableDiffusion3Pipeline.from_pretrained(
                path, transformer=None, vae=None, torch_dtype=torch_dtype, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise wrap_load_error(model, "SD3", ENV_VAR, exc) from None
        for enc in (pipe.text_encoder, pipe.text_encoder_2, pipe.text_encoder_3):
            if enc is not None:
                enc.requires_grad_(False).eval().to(device)
        source = {"model_path": model, "resolution": resolution, "dtype": dtype,
                  "max_sequence_length": max_sequence_length,
                  "gradient_checkpointing": gradient_checkpointing}
        if sampler:  # only when set: the configs (and run hashes) of older runs stay the same
            source["sampler"] = dict(vars(settings))
        if vae_dtype:  # likewise
            source["vae_dtype"] = vae_dtype
        backbone = cls(transformer, vae, pipeline_encoder(pipe, max_sequence_length),
                       resolution, source, text_pipeline=pipe, sampler=sampler)
        return backbone.to(device)

    def config(self) -> dict[str, Any]:
        if self._source is not None:
            return dict(self._source)
        return {"transformer": dict(self.transformer.config), "vae": dict(self.vae.config),
                "resolution": self.resolution}

    @property
    def vae(self) -> nn.Module:
        return self.shared.vae

    def release_text_encoders(self) -> None:
        """Free the text encoders (T5-XXL alone is ~9.5 GB in bf16) once every prompt the run
        uses is cached: call `encode_prompts(all_prompts)` first."""
        self.shared.prompts.encode = None
        self.shared.text_pipeline = None

    def _apply(self, fn, *args, **kwargs):
        # .to(device) / .float() also reach the VAE, which sits outside the module tree
        super()._apply(fn, *args, **kwargs)
        self.shared.vae._apply(fn, *args, **kwargs)
        return self

    # ------------------------------------------------------------------ model
    def encode_prompts(self, prompts: list[str]) -> Cond:
        return self.shared.prompts(list(prompts))

    def add_preference(self, num_objectives: int, mode: str = "both",
                       projector: str = "zero") -> None:
        cfg = self.transformer.config
        self.preference = PreferenceConditioning(
            num_objectives, cfg.num_attention_heads * cfg.attention_head_dim, mode,
            projector=projector)
        # float32 master weights; under autocast they run in the transformer's dtype
        self.preference.to(self.transformer.device)
        self.preference.attach(self.transformer)
        self.num_objectives = num_objectives

    def _autocast(self):
        dev, dtype = self.transformer.device, self.transformer.dtype
        if dtype == torch.float32:
            return nullcontext()
        return torch.autocast(dev.type, dtype=dtype)

    def forward(self, x_t, t, cond: Cond, w=None):
        dev, dtype = self.transformer.device, self.transformer.dtype
        timestep = (t.expand(x_t.shape[0]) * 1000).to(dev)  # SD3 embeds t scaled to [0, 1000]
        kwargs = dict(hidden_states=x_t.to(dev, dtype), timestep=timestep, return_dict=False,
                      **{k: v.to(dev, dtype) for k, v in cond.items()})
        with self._autocast():
            v = self.run_transformer(None if w is None else w.to(dev), **kwargs)
        return v.to(x_t.device, x_t.dtype)

    def decode(self, x0: torch.Tensor, chunk: int = 8) -> torch.Tensor:
        return decode_latents(self.vae, x0, chunk)

    def on_transformer(self, transformer: nn.Module) -> SD3Backbone:
        """Another backbone on `transformer` (moved to this one's device), sharing this one's
        frozen parts: VAE, prompt cache and text encoders."""
        sampler = None if self.sampler_settings is None else dict(vars(self.sampler_settings))
        other = SD3Backbone(transformer.to(self.transformer.device), self.vae,
                            self.shared.prompts, self.resolution, self._source, sampler=sampler)
        other.shared = self.shared
        return other

    @torch.no_grad()
    def encode_images(self, images: torch.Tensor, chunk: int = 8) -> torch.Tensor:
        """Images in [0, 1] -> latents in the model's space (mean of the VAE posterior)."""
        vae = self.vae
        dev, dtype = next(vae.parameters()).device, next(vae.parameters()).dtype
        scale, shift = vae.config.scaling_factor, vae.config.shift_factor or 0.0
        out = []
        for part in images.split(chunk):
            dist = vae.encode(part.to(dev, dtype) * 2 - 1, return_dict=False)[0]
            out.append(((dist.mean.float() - shift) * scale).to(images.device))
        return torch.cat(out)


class SD3World:
    """The real-scale world: SD3.5 as the base model, registered rewards, VAE decoding.

    `world: sd35` with `world_options` (from_pretrained's arguments) in a suite. Nothing
    loads until the base model or decode is first needed. The first `base_model()` hands
    over the loaded model itself (the world keeps no second transformer: a training process
    holds one); a later call loads the transformer again from the weights, sharing the
    frozen parts (VAE, prompt cache, text encoders) of the first."""

    images = True

    def __init__(self, model_path: str | None = None, resolution: int = 512, dtype: str = "bfloat16",
                 device: str | None = None, max_sequence_length: int = 256,
                 gradient_checkpointing: bool = False, sampler: dict | None = None,
                 vae_dtype: str | None = None):
        self.options = {"model_path": model_path, "resolution": resolution, "dtype": dtype,
                        "device": device, "max_sequence_length": max_sequence_length,
                        "gradient_checkpointing": gradient_checkpointing}
        if vae_dtype:  # kept out of the options when unset, as the sampler
            self.options["vae_dtype"] = vae_dtype
        if sampler:  # checked now, before any weights load; kept out of the options when unset
            self.options["sampler"] = dict(vars(SamplerSettings(**sampler)))
        self._base: SD3Backbone | None = None  # loaded and not yet handed over
        self._frozen: SD3Backbone | None = None  # the frozen parts' owner, without its transformer

    @property
    def uses_cuda(self) -> bool:
        """On plain cuda (device null: cuda where present), so `bench.run` starts one worker
        per visible GPU, each shown only its own; a named one (cuda:1) is left as it is."""
        return self.options["device"] in (None, "cuda")

    def _load(self) -> None:
        if self._frozen is None:
            self._base = SD3Backbone.from_pretrained(**self.options)
            # a template for later base models: the frozen parts, an empty stand-in transformer
            self._frozen = self._base.on_transformer(_EmptyTransformer(self._base.transformer))

    def base_model(self) -> SD3Backbone:
        """A base model for a trainer to change in place (see the class docstring)."""
        self._load()
        if self._base is not None:
            model, self._base = self._base, None
            return model
        model = self.options["model_path"] or os.environ.get(ENV_VAR) or DEFAULT_MODEL
        path = resolve_weights(model, "SD3", ENV_VAR, ALLOW_PATTERNS)
        try:
            transformer = load_transformer(path, self.options["dtype"],
                                           self.options["gradient_checkpointing"])
        except (OSError, ValueError) as exc:
            raise wrap_load_error(model, "SD3", ENV_VAR, exc) from None
        return self._frozen.on_transformer(transformer)

    def weights(self) -> list[tuple[str, str, str | None]]:
        """The base model's weights (checked before a run by `bench.config.preflight`)."""
        model = self.options["model_path"] or os.environ.get(ENV_VAR) or DEFAULT_MODEL
        return [("SD3", model, ENV_VAR)]

    def reward(self, name: str):
        from paretoslider.rewards import build_reward

        return build_reward(name)

    def fingerprint(self) -> str:
        """The weights named by model_path (a hub id or folder); the device does not matter."""
        from paretoslider.checkpoint import dict_hash

        return dict_hash({k: v for k, v in self.options.items() if k != "device"})

    def reward_names(self) -> list[str]:
        from paretoslider.rewards import REWARDS

        return REWARDS.names()

    def decode(self, x0: torch.Tensor) -> torch.Tensor:
        self._load()
        return decode_latents(self._frozen.vae, x0)


class _EmptyTransformer(nn.Module):
    """What a world's template holds in place of a transformer: its config and device only."""

    def __init__(self, transformer: nn.Module):
        super().__init__()
        self.config, self._device = transformer.config, transformer.device

    @property
    def device(self) -> torch.device:
        return self._device

    def to(self, *args, **kwargs):
        return self

