"""A reward scored by an HTTP reward server (`paretoslider.rewards.server`).

Rewards whose packages cannot share this environment (ImageReward pins an old transformers
and timm) run in their own environment behind the server; `RemoteReward` sends it batches
of uint8 images with their prompts and reads back one score per image.

Protocol: POST /score with an .npz body holding `images` (B, 3, H, W) uint8 and `prompts`
(B,) unicode; the answer is JSON {"scores": [B floats]} or, on failure, {"error": "..."}.
GET /info answers {"name", "range", "direction", "heldout"}.

A request that finds the server unreachable, gets no answer in time, or is told it is
unavailable (HTTP 502-504: a restart, a proxy) is sent again up to `retries` times, after
`backoff` seconds, doubled each time; a failed score (HTTP 500) or a malformed answer is
reported at once.
"""
from __future__ import annotations

import io
import json
import math
import os
import time
import urllib.error
import urllib.request
from urllib.parse import urlparse

import numpy as np
import torch

from paretoslider.rewards.base import REWARDS, Reward

CONTENT_TYPE = "application/x-npz"
DEFAULT_PORT = 8765


class RemoteRewardError(RuntimeError):
    """The reward server is down, too slow, failed, or answered something unusable."""


class _Transient(RemoteRewardError):
    """A failure that another try may not meet (down, too slow, unavailable)."""


def encode_request(images: np.ndarray, prompts: list[str]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, images=images, prompts=np.asarray(prompts, dtype=str))
    return buf.getvalue()


def decode_request(body: bytes) -> tuple[np.ndarray, list[str]]:
    """(images uint8 (B, 3, H, W), prompts); ValueError for anything malformed."""
    try:
        with np.load(io.BytesIO(body), allow_pickle=False) as data:
            images, prompts = data["images"], [str(p) for p in data["prompts"]]
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"body is not an npz with images and prompts ({exc})") from None
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be uint8 (B, 3, H, W), got {images.dtype} {images.shape}")
    if len(prompts) != images.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {len(prompts)} prompts")
    return images, prompts


def to_uint8(images: torch.Tensor) -> np.ndarray:
    return (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


class RemoteReward(Reward):
    external_weights = True
    def __init__(self, url: str, name: str = "remote", range=(0.0, 1.0), batch_size: int = 32,
                 timeout: float = 600.0, server_reward: str | None = None, heldout: bool = False,
                 retries: int = 3, backoff: float = 2.0):
        if retries < 0 or backoff < 0:
            raise ValueError(f"retries and backoff must be >= 0, got {retries} and {backoff}")
        # several servers (one per GPU: a server holds its model on one device), comma-separated:
        # batches go to them in turn, and a try that fails moves on to the next one
        self.urls = [u.strip().rstrip("/") for u in url.split(",") if u.strip()]
        if not self.urls:
            raise ValueError(f"no reward server URL in {url!r}")
        self._turn = 0
        self.name, self.range, self.heldout = name, tuple(range), heldout
        self.batch_size, self.timeout = int(batch_size), float(timeout)
        self.retries, self.backoff = int(retries), float(backoff)
        self.server_reward = server_reward or name  # the name to start the server with

    @property
    def url(self) -> str:
        return ",".join(self.urls)

    def _start_hint(self, url: str) -> str:
        port = urlparse(url).port or DEFAULT_PORT
        return f"python -m paretoslider.rewards.server --reward {self.server_reward} --port {port}"

    def _request(self, path: str, body: bytes | None = None) -> dict:
        attempt = 0
        while True:
            url = self.urls[(self._turn + attempt) % len(self.urls)]
            try:
                answer = self._request_once(url, path, body)
                self._turn = (self._turn + attempt + 1) % len(self.urls)
                return answer
            except _Transient as exc:
                if attempt == self.retries:
                    tries = f" (after {attempt + 1} tries)" if attempt else ""
                    raise RemoteRewardError(f"{exc}{tries}") from None
            time.sleep(self.backoff * 2 ** attempt)
            attempt += 1

    def _request_once(self, url: str, path: str, body: bytes | None) -> dict:
        req = urllib.request.Request(url + path, data=body,
                                     headers={"Content-Type": CONTENT_TYPE} if body else {})
        where = f"reward server {url}"
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                detail = json.loads(raw)["error"]
            except (ValueError, KeyError, TypeError):
                detail = raw[:200].decode("utf-8", "replace")
            kind = _Transient if exc.code in (502, 503, 504) else RemoteRewardError
            raise kind(f"{where} failed (HTTP {exc.code}): {detail}") from None
        except TimeoutError:  # socket.timeout is TimeoutError since Python 3.10
            raise _Transient(f"{where} did not answer within {self.timeout:g} s") from None
        except (urllib.error.URLError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise _Transient(f"{where} did not answer within {self.timeout:g} s") from None
            raise _Transient(f"{where} is not reachable ({reason}); start it with: "
                             f"{self._start_hint(url)}") from None
        try:
            answer = json.loads(raw)
        except ValueError:
            raise RemoteRewardError(
                f"{where} answered something that is not JSON: {raw[:60]!r}") from None
        if not isinstance(answer, dict):
            raise RemoteRewardError(f"{where} answered JSON that is not an object: {raw[:60]!r}")
        return answer

    def info(self) -> dict:
        return self._request("/info")

    def score(self, images, prompts):
        out = []
        for s in range(0, len(prompts), self.batch_size):
            batch = images[s:s + self.batch_size]
            answer = self._request("/score", encode_request(to_uint8(batch), prompts[s:s + self.batch_size]))
            scores = answer.get("scores")
            if not isinstance(scores, list) or len(scores) != batch.shape[0]:
                got = len(scores) if isinstance(scores, list) else type(scores).__name__
                raise RemoteRewardError(f"reward server {self.url} returned {got} scores for "
                                        f"{batch.shape[0]} images")
            if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in scores):
                raise RemoteRewardError(f"reward server {self.url} returned non-numeric scores")
            out.extend(scores)
        return torch.tensor(out, dtype=torch.float32, device=images.device)


def _imagereward_remote(**kwargs) -> RemoteReward:
    """ImageReward from its own environment's server ($PARETOSLIDER_IMAGEREWARD_URL)."""
    url = os.environ.get("PARETOSLIDER_IMAGEREWARD_URL", f"http://127.0.0.1:{DEFAULT_PORT}")
    opts = {"url": url, "name": "imagereward_remote", "range": (-2.5, 2.5),
            "server_reward": "imagereward"}
    return RemoteReward(**(opts | kwargs))


REWARDS.register("imagereward_remote")(_imagereward_remote)
