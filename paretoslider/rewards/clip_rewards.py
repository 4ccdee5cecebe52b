"""CLIP-family rewards through transformers: CLIPScore, PickScore, zero-shot style judges.

Images arrive as a (B, 3, H, W) tensor in [0, 1]; they are resized, centre-cropped and
normalised in torch on the whole batch (no PIL round trip). Models load lazily on the first
score, once per (model, processor, device, dtype) for all rewards sharing them, so building
a reward to read its `range` costs nothing. Weights come from a local directory or a hub id
(the HF cache when HF_HUB_OFFLINE=1); an env var per model overrides the default id.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache, partial
from pathlib import Path

import torch
import torch.nn.functional as F

from paretoslider.rewards.base import REWARDS, Reward
from paretoslider.weights import resolve_weights, wrap_load_error

CLIP_L = ("openai/clip-vit-large-patch14", "PARETOSLIDER_CLIP")
CLIP_H = ("laion/CLIP-ViT-H-14-laion2B-s32B-b79K", "PARETOSLIDER_CLIP_HELDOUT")
PICKSCORE = ("yuvalkirstain/PickScore_v1", "PARETOSLIDER_PICKSCORE")
PICKSCORE_PROCESSOR = ("laion/CLIP-ViT-H-14-laion2B-s32B-b79K", "PARETOSLIDER_PICKSCORE_PROCESSOR")
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


def _side(value, default: int) -> int:
    if isinstance(value, dict):  # {"shortest_edge": n} or {"height": h, "width": w}
        return int(value.get("shortest_edge") or value.get("height") or default)
    return int(value) if value else default


class CLIPScorer:
    """A loaded CLIPModel with its tokenizer and batch image preprocessing in torch."""

    def __init__(self, model, tokenizer, image_size: int, crop: int, mean, std, device="cpu"):
        self.model, self.tokenizer = model.eval().requires_grad_(False), tokenizer
        self.size, self.crop, self.device = image_size, crop, torch.device(device)
        self.dtype = next(model.parameters()).dtype
        self.mean = torch.tensor(mean, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, device=self.device).view(1, 3, 1, 1)
        text_cfg = model.config.text_config
        self.max_length = min(getattr(tokenizer, "model_max_length", 77), text_cfg.max_position_embeddings)
        self._text_cache: dict[str, torch.Tensor] = {}

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        x = images.to(self.device, torch.float32).clamp(0, 1)
        h, w = x.shape[-2:]
        scale = self.size / min(h, w)
        new = (max(self.crop, round(h * scale)), max(self.crop, round(w * scale)))
        x = F.interpolate(x, size=new, mode="bicubic", antialias=True, align_corners=False)
        top, left = (new[0] - self.crop) // 2, (new[1] - self.crop) // 2
        x = x[..., top:top + self.crop, left:left + self.crop].clamp(0, 1)
        return ((x - self.mean) / self.std).to(self.dtype)

    @staticmethod
    def _pooled(out) -> torch.Tensor:  # transformers 5 returns an output object, 4.x a tensor
        return out.pooler_output if hasattr(out, "pooler_output") else out

    @torch.no_grad()
    def image_features(self, images: torch.Tensor) -> torch.Tensor:
        feats = self._pooled(self.model.get_image_features(pixel_values=self.preprocess(images)))
        return F.normalize(feats.float(), dim=-1)

    @torch.no_grad()
    def text_features(self, texts: list[str]) -> torch.Tensor:
        """Unit-norm features (len(texts), D); each distinct text is encoded once."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._text_cache))
        if missing:
            tok = self.tokenizer(missing, padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="pt").to(self.device)
            feats = self._pooled(self.model.get_text_features(**tok))
            for t, f in zip(missing, F.normalize(feats.float(), dim=-1)):
                self._text_cache[t] = f
        return torch.stack([self._text_cache[t] for t in texts])

    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.exp())


def _preprocessor_config(path: str) -> dict:
    f = Path(path) / "preprocessor_config.json"
    return json.loads(f.read_text()) if f.exists() else {}


@lru_cache(maxsize=4)
def load_scorer(model: str, processor: str | None, device: str, dtype: str, what: str,
                env_var: str | None, processor_env: str | None) -> CLIPScorer:
    """Load (once per argument tuple) a CLIPModel; tokenizer and image settings from `processor`
    (PickScore keeps them in the base model's repository) or from the model itself."""
    from transformers import AutoTokenizer, CLIPModel

    path = resolve_weights(model, what, env_var)
    proc_name = processor or model
    proc_path = path if processor is None else resolve_weights(processor, f"{what} processor", processor_env)
    try:
        net = CLIPModel.from_pretrained(path, dtype=getattr(torch, dtype), local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(proc_path, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise wrap_load_error(model if processor is None else f"{model} / {proc_name}", what,
                              env_var, exc) from None
    cfg = _preprocessor_config(proc_path)
    size = net.config.vision_config.image_size
    return CLIPScorer(
        net.to(device), tokenizer, _side(cfg.get("size"), size), _side(cfg.get("crop_size"), size),
        cfg.get("image_mean", OPENAI_MEAN), cfg.get("image_std", OPENAI_STD), device,
    )


class CLIPReward(Reward):
    """Shared plumbing: where the weights are and how to get the loaded scorer."""

    external_weights = True

    what = "CLIP"  # how errors name the weights
    default_model: tuple[str, str] = CLIP_L
    default_processor: tuple[str, str] | None = None

    def __init__(self, model: str | None = None, processor: str | None = None,
                 device: str | None = None, dtype: str = "float32", range=None,
                 name: str | None = None, heldout: bool | None = None):
        mid, env = self.default_model
        self.model = model or os.environ.get(env) or mid
        self.processor = processor
        if processor is None and self.default_processor is not None:
            pid, penv = self.default_processor
            self.processor = os.environ.get(penv) or pid
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.dtype = dtype
        self.name = name or self.name
        self.range = tuple(range) if range is not None else self.range
        self.heldout = self.heldout if heldout is None else heldout

    def weights(self) -> list[tuple[str, str, str | None]]:
        out = [(self.what, self.model, self.default_model[1])]
        if self.processor is not None:
            out.append((f"{self.what} processor", self.processor,
                        self.default_processor[1] if self.default_processor else None))
        return out

    def scorer(self) -> CLIPScorer:
        penv = self.default_processor[1] if self.default_processor else None
        return load_scorer(self.model, self.processor, self.device, self.dtype,
                           self.what, self.default_model[1], penv)

    def similarity(self, images: torch.Tensor, texts: list[str]) -> torch.Tensor:
        """Cosine similarity of each image with its own text, (B,)."""
        s = self.scorer()
        return (s.image_features(images) * s.text_features(texts)).sum(-1).to(images.device)


class CLIPScore(CLIPReward):
    """CLIP-S (Hessel et al. 2021): 2.5 max(cos(image, prompt), 0); prompt adherence."""

    name, range = "clip_score", (0.0, 2.5)

    def score(self, images, prompts):
        return 2.5 * self.similarity(images, prompts).clamp(min=0)


class PickScore(CLIPReward):
    """PickScore: exp(logit_scale) cos(image, prefix + prompt). The declared range is the span
    typical of SD-class images, a normalisation convention (override with `range=`)."""

    name, range, what = "pickscore", (17.0, 24.0), "PickScore"
    default_model, default_processor = PICKSCORE, PICKSCORE_PROCESSOR

    def __init__(self, prefix: str = "", **kwargs):
        super().__init__(**kwargs)
        self.prefix = prefix

    def score(self, images, prompts):
        return self.scorer().logit_scale * self.similarity(images, [self.prefix + p for p in prompts])


class CLIPZeroShot(CLIPReward):
    """P(class 0 | image) among texts made from `templates` and the prompt: a softmax of
    exp(logit_scale) cos(image, text), as CLIP's zero-shot classification."""

    name, range = "clip_style", (0.0, 1.0)

    def __init__(self, templates: tuple[str, ...] = ("a pencil sketch of {}", "a photo of {}"),
                 **kwargs):
        super().__init__(**kwargs)
        if len(templates) < 2:
            raise ValueError("zero-shot needs at least two templates (the class and others)")
        self.templates = tuple(templates)

    def score(self, images, prompts):
        s = self.scorer()
        img = s.image_features(images)
        logits = torch.stack([
            (img * s.text_features([t.format(p) for p in prompts])).sum(-1) for t in self.templates
        ], dim=1)
        return torch.softmax(s.logit_scale * logits, dim=1)[:, 0].to(images.device)


class HeldoutZeroShot(CLIPZeroShot):
    """A zero-shot judge for evaluation only: another CLIP (ViT-H/14, LAION), other wording."""

    default_model, heldout = CLIP_H, True


PHOTO, SKETCH, WATERCOLOR = "a photo of {}", "a pencil sketch of {}", "a watercolor painting of {}"
H_PHOTO, H_SKETCH, H_WATER = "a photograph of {}", "a pencil drawing of {}", "a watercolour of {}"
for _name, _cls, _kw in [
    ("clip_score", CLIPScore, {}),
    ("pickscore", PickScore, {}),
    ("photorealism", PickScore, {"prefix": "a photorealistic photo of "}),
    ("clip_sketch", CLIPZeroShot, {"templates": (SKETCH, PHOTO)}),
    ("clip_watercolor", CLIPZeroShot, {"templates": (WATERCOLOR, PHOTO)}),
    ("clip_photo_heldout", HeldoutZeroShot, {"templates": (H_PHOTO, H_SKETCH, H_WATER)}),
    ("clip_sketch_heldout", HeldoutZeroShot, {"templates": (H_SKETCH, H_PHOTO, H_WATER)}),
    ("clip_watercolor_heldout", HeldoutZeroShot, {"templates": (H_WATER, H_PHOTO, H_SKETCH)}),
]:
    REWARDS.register(_name)(partial(_cls, name=_name, **_kw))
