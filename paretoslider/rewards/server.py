"""An HTTP server hosting any registered reward by name (protocol in `rewards.remote`).

    python -m paretoslider.rewards.server --reward imagereward --port 8765

It runs where the reward's packages are installed (ImageReward: the environment made by
scripts/make_imagereward_env.sh) and needs only the standard library, numpy and the reward.
Requests are served by threads; scoring is serialised, one batch at a time on the model.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch

from paretoslider.rewards.base import Reward, build_reward
from paretoslider.rewards.remote import decode_request


def make_handler(reward: Reward, verbose: bool = False):
    lock = threading.Lock()
    info = {"name": reward.name, "range": list(reward.range), "direction": reward.direction,
            "heldout": bool(reward.heldout)}

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/info":
                self._send(200, info)
            else:
                self._send(404, {"error": f"unknown path {self.path}; use GET /info, POST /score"})

        def do_POST(self):
            if self.path != "/score":
                self._send(404, {"error": f"unknown path {self.path}; use POST /score"})
                return
            try:
                images, prompts = decode_request(self.rfile.read(int(self.headers["Content-Length"])))
            except (TypeError, ValueError) as exc:
                self._send(400, {"error": str(exc)})
                return
            try:
                with lock:
                    scores = reward(torch.from_numpy(images).float() / 255, prompts)
                self._send(200, {"scores": [float(v) for v in scores.detach().cpu()]})
            except Exception as exc:  # noqa: BLE001  (any scoring failure goes to the client)
                self._send(500, {"error": f"{type(exc).__name__}: {exc}"})

        def log_message(self, fmt, *args):
            if verbose:
                super().log_message(fmt, *args)

    return Handler


def serve(reward: Reward, host: str = "127.0.0.1", port: int = 8765, verbose: bool = False):
    """A started-but-not-serving server (port 0 picks a free port: see server_address)."""
    return ThreadingHTTPServer((host, port), make_handler(reward, verbose))


def first_line(exc: BaseException) -> str:
    """An error's first line (CUDA errors add lines of advice on debugging), or its kind."""
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


def describe(exc: BaseException) -> str:
    """The kind and first line of an error ("RuntimeError: CUDA error: out of memory")."""
    line = first_line(exc)
    return line if line == type(exc).__name__ else f"{type(exc).__name__}: {line}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Serve a registered reward over HTTP.")
    ap.add_argument("--reward", required=True, help="registered reward name")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    ap.add_argument("--kwargs", default="{}", help="JSON keyword arguments for the reward")
    ap.add_argument("--import", dest="imports", action="append", default=[],
                    help="module to import first (registers extra rewards); repeatable")
    ap.add_argument("--no-warmup", action="store_true", help="skip scoring one image at start")
    ap.add_argument("--verbose", action="store_true", help="log every request")
    args = ap.parse_args(argv)
    try:
        import paretoslider.rewards  # noqa: F401  (registers the built-in rewards)

        for module in args.imports:
            importlib.import_module(module)
        reward = build_reward(args.reward, **json.loads(args.kwargs))
    except (ImportError, KeyError, ValueError, OSError) as exc:
        sys.exit(f"error: {first_line(exc)}")
    if not args.no_warmup:  # load weights now: a missing model fails here, not mid-run
        try:
            reward(torch.full((1, 3, 64, 64), 0.5), ["a photo"])
        except Exception as exc:  # noqa: BLE001  (missing weights, a CUDA error, ...: one line)
            sys.exit(f"error: reward {args.reward} failed its warm-up (scoring one image): "
                     f"{describe(exc)}")
    try:
        server = serve(reward, args.host, args.port, args.verbose)
    except OSError as exc:  # the port is taken, the host unknown
        sys.exit(f"error: cannot serve on {args.host}:{args.port}: {first_line(exc)}")
    host, port = server.server_address[:2]
    print(f"serving reward {reward.name} on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
