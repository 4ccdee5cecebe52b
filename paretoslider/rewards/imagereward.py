"""ImageReward (Xu et al. 2023) as a reward; it runs in its own environment behind the server.

The image-reward package pins an old transformers and timm, so it cannot share the main
environment: `scripts/make_imagereward_env.sh` builds one, `python -m
paretoslider.rewards.server --reward imagereward` serves it there, and `imagereward_remote`
(`rewards.remote`) scores through that server here. The package is imported lazily, so this
module registers the name everywhere and fails with a clear message where it is missing.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from paretoslider.rewards.base import REWARDS, Reward
from paretoslider.weights import MissingWeightsError

IMAGEREWARD_HINT = (
    "the image-reward package is not installed here; it needs its own environment: "
    "`bash scripts/make_imagereward_env.sh`, then start `python -m paretoslider.rewards.server "
    "--reward imagereward` there and use the reward `imagereward_remote` in this one"
)


@REWARDS.register("imagereward")
class ImageRewardScore(Reward):
    """ImageReward (Xu et al. 2023): human-preference score of an image for its prompt.

    Its scores are standardised (about mean 0, std 1 over its training data); the declared
    range (-2.5, 2.5) holds most of them. Weights: ImageReward.pt and med_config.json in
    `download_root` ($PARETOSLIDER_IMAGEREWARD_DIR, default ~/.cache/ImageReward), or
    `model` as a path to the .pt file; BLIP's text side also reads bert-base-uncased from
    the Hugging Face cache."""

    external_weights = True

    name, range = "imagereward", (-2.5, 2.5)

    def __init__(self, model: str | None = None, download_root: str | None = None,
                 device: str | None = None):
        self.model = model or os.environ.get("PARETOSLIDER_IMAGEREWARD", "ImageReward-v1.0")
        root = download_root or os.environ.get("PARETOSLIDER_IMAGEREWARD_DIR")
        self.download_root = root or str(Path("~/.cache/ImageReward").expanduser())
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._net = None

    def weights(self) -> list[tuple[str, str, str | None]]:
        """The checkpoint folder (ImageReward.pt, med_config.json) and BLIP's text model."""
        pt = (self.model if Path(self.model).suffix == ".pt"
              else str(Path(self.download_root).expanduser() / "ImageReward.pt"))
        return [("ImageReward", pt, "PARETOSLIDER_IMAGEREWARD_DIR"),
                ("ImageReward's text model", "bert-base-uncased", None)]

    def net(self):
        if self._net is None:
            try:
                import ImageReward as RM
            except ImportError:
                raise ImportError(IMAGEREWARD_HINT) from None
            med = Path(self.download_root) / "med_config.json"
            try:
                self._net = RM.load(self.model, device=self.device, download_root=self.download_root,
                                    med_config=str(med) if med.exists() else None)
            except (OSError, RuntimeError, ValueError) as exc:
                raise MissingWeightsError(
                    f"ImageReward weights {self.model!r} could not be loaded ({exc}); put "
                    f"ImageReward.pt and med_config.json in {self.download_root} (or set "
                    f"PARETOSLIDER_IMAGEREWARD_DIR), and bert-base-uncased in the HF cache"
                ) from None
        return self._net

    @torch.no_grad()
    def score(self, images, prompts):
        from PIL import Image

        arr = (images.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        out = torch.empty(len(prompts))
        for prompt in dict.fromkeys(prompts):  # one call per prompt: its images as a batch
            idx = [i for i, p in enumerate(prompts) if p == prompt]
            pils = [Image.fromarray(arr[i]) for i in idx]
            values = np.atleast_1d(np.asarray(self.net().score(prompt, pils), dtype=np.float64))
            out[idx] = torch.from_numpy(values.ravel()).float()
        return out.to(images.device)
