"""The reward server in a real subprocess and its client: round trip, batching, failures."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest
import torch

from paretoslider.rewards import build_reward
from paretoslider.rewards.remote import (
    RemoteReward,
    RemoteRewardError,
    decode_request,
    encode_request,
)

REWARD_MODULE = '''
import torch
from paretoslider.rewards.base import REWARDS, Reward

@REWARDS.register("mean_red")
class MeanRed(Reward):
    name, range = "mean_red", (0.0, 1.0)

    def score(self, images, prompts):
        if "fail" in prompts:
            raise RuntimeError("cannot score a failing prompt")
        return images[:, 0].mean(dim=(1, 2))
'''


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """A server subprocess hosting a reward registered by a module it imports; its URL."""
    folder = tmp_path_factory.mktemp("reward_module")
    (folder / "mean_red_reward.py").write_text(textwrap.dedent(REWARD_MODULE))
    env = dict(os.environ, PYTHONPATH=f"{folder}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
               HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    log = (folder / "stderr.txt").open("w")  # a file, so unread output never blocks the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "paretoslider.rewards.server", "--reward", "mean_red",
         "--port", "0", "--import", "mean_red_reward"],
        stdout=subprocess.PIPE, stderr=log, text=True, env=env,
    )
    line = proc.stdout.readline()  # "serving reward mean_red on http://127.0.0.1:PORT"
    if not line.startswith("serving"):
        proc.kill()
        pytest.fail(f"server did not start: {line}{(folder / 'stderr.txt').read_text()}")
    yield line.split(" on ")[1].strip()
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def batch(n: int) -> torch.Tensor:
    return torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(n))


def test_round_trip_matches_local_scores_across_batches(server_url):
    remote = RemoteReward(server_url, "mean_red", (0.0, 1.0), batch_size=3)
    images = batch(7)
    scores = remote(images, [f"p{i}" for i in range(7)])
    quantised = (images * 255).round() / 255  # the wire carries uint8
    assert scores.shape == (7,)
    assert torch.allclose(scores, quantised[:, 0].mean(dim=(1, 2)), atol=1e-6)
    assert remote.info() == {"name": "mean_red", "range": [0.0, 1.0], "direction": "max",
                             "heldout": False}


def test_a_failure_inside_the_server_reaches_the_client(server_url):
    remote = RemoteReward(server_url, "mean_red")
    with pytest.raises(RemoteRewardError, match="HTTP 500.*cannot score a failing prompt"):
        remote(batch(2), ["ok", "fail"])
    assert remote(batch(1), ["ok"]).shape == (1,)  # and the server keeps serving


def test_a_server_that_is_down_names_the_url_and_how_to_start_it():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    remote = RemoteReward(f"http://127.0.0.1:{port}", "imagereward_remote",
                          server_reward="imagereward", timeout=5, retries=0)
    with pytest.raises(RemoteRewardError) as info:
        remote(batch(1), ["a cat"])
    message = str(info.value)
    assert f"http://127.0.0.1:{port}" in message and "not reachable" in message
    assert f"python -m paretoslider.rewards.server --reward imagereward --port {port}" in message


def _fake_server(answer: bytes, delay: float = 0.0) -> HTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(delay)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.mark.parametrize("answer, match", [
    (b"<html>oops</html>", "not JSON"),
    (json.dumps({"scores": [0.5]}).encode(), "returned 1 scores for 2 images"),
    (json.dumps({"scores": [0.5, "x"]}).encode(), "non-numeric"),
    (json.dumps([0.5, 0.5]).encode(), "not an object"),
])
def test_garbage_answers_raise_clear_errors(answer, match):
    server = _fake_server(answer)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(RemoteRewardError, match=match):
            RemoteReward(url, "r", timeout=5)(batch(2), ["a", "b"])
    finally:
        server.shutdown()
        server.server_close()


def test_a_slow_server_times_out():
    server = _fake_server(b"{}", delay=0.8)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(RemoteRewardError, match="did not answer within 0.3 s"):
            RemoteReward(url, "r", timeout=0.3, retries=0)(batch(1), ["a"])
    finally:
        server.shutdown()
        server.server_close()


def test_payload_round_trip_and_rejection():
    images = (batch(2) * 255).to(torch.uint8).numpy()
    got, prompts = decode_request(encode_request(images, ["a cat", "ünïcode"]))
    assert np.array_equal(got, images) and prompts == ["a cat", "ünïcode"]
    with pytest.raises(ValueError, match="not an npz"):
        decode_request(b"garbage")
    with pytest.raises(ValueError, match="uint8"):
        decode_request(encode_request(images.astype(np.float32), ["a", "b"]))


def test_imagereward_without_its_package_says_where_it_runs():
    with pytest.raises(ImportError, match="make_imagereward_env.sh"):
        build_reward("imagereward", device="cpu")(batch(1), ["a cat"])


def test_server_refuses_an_unknown_reward_in_one_line():
    proc = subprocess.run(
        [sys.executable, "-m", "paretoslider.rewards.server", "--reward", "no_such_reward"],
        capture_output=True, text=True, timeout=60, check=False,
        env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1].startswith("error: unknown reward 'no_such_reward'")
