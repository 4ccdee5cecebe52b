"""The reward server's client retries what another try may fix, a bounded number of times;
the server's warm-up failures are one line each."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import torch

from paretoslider.rewards import server
from paretoslider.rewards.base import Reward
from paretoslider.rewards.remote import RemoteReward, RemoteRewardError

IMAGES = torch.full((2, 3, 8, 8), 0.5)


class _Flaky:
    """A server answering `codes` in turn (then 200 with two scores); counts the requests."""

    def __init__(self, codes: list[int]):
        self.codes, self.requests = list(codes), 0
        flaky = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                flaky.requests += 1
                code = flaky.codes.pop(0) if flaky.codes else 200
                body = {"scores": [0.25, 0.75]} if code == 200 else {"error": "busy"}
                self.send_response(code)
                self.end_headers()
                self.wfile.write(json.dumps(body).encode())

            def log_message(self, *args):
                pass

        self.http = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.http.shutdown()
        self.http.server_close()


def test_an_unavailable_server_is_tried_again_until_it_answers():
    with _Flaky([503, 502]) as flaky:
        scores = RemoteReward(flaky.url, "r", retries=2, backoff=0.01)(IMAGES, ["a", "b"])
    assert scores.tolist() == [0.25, 0.75] and flaky.requests == 3


def test_retries_are_bounded_and_the_error_says_how_many_tries():
    with _Flaky([503] * 10) as flaky, pytest.raises(RemoteRewardError,
                                                     match=r"HTTP 503.*\(after 3 tries\)"):
        RemoteReward(flaky.url, "r", retries=2, backoff=0.01)(IMAGES, ["a", "b"])
    assert flaky.requests == 3


def test_a_failed_score_is_not_retried():
    with _Flaky([500]) as flaky, pytest.raises(RemoteRewardError, match=r"\(HTTP 500\): busy$"):
        RemoteReward(flaky.url, "r", retries=3, backoff=0.01)(IMAGES, ["a", "b"])
    assert flaky.requests == 1


def test_an_unreachable_server_is_retried_with_backoff(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the block ends
    waits = []
    monkeypatch.setattr("paretoslider.rewards.remote.time.sleep", waits.append)
    with pytest.raises(RemoteRewardError, match=r"not reachable.*\(after 4 tries\)"):
        RemoteReward(f"http://127.0.0.1:{port}", "r", retries=3, backoff=0.5)(IMAGES, ["a", "b"])
    assert waits == [0.5, 1.0, 2.0]


class _FailsOnFirstScore(Reward):
    name, range = "failing", (0.0, 1.0)

    def __init__(self, exc: Exception):
        self.exc = exc

    def score(self, images, prompts):
        raise self.exc


@pytest.mark.parametrize("exc, shown", [
    (RuntimeError("CUDA error: out of memory\nCUDA kernel errors might be asynchronously "
                  "reported at some other API call, so the stacktrace below might be incorrect."),
     "RuntimeError: CUDA error: out of memory"),
    (FileNotFoundError("no PickScore weights at /models/pickscore"),
     "FileNotFoundError: no PickScore weights at /models/pickscore"),
    (AssertionError(), "AssertionError"),
])
def test_every_warm_up_failure_is_one_line(monkeypatch, exc, shown):
    monkeypatch.setattr(server, "build_reward", lambda name, **kw: _FailsOnFirstScore(exc))
    with pytest.raises(SystemExit) as stop:
        server.main(["--reward", "failing", "--port", "0"])
    line = str(stop.value.code)
    assert line == f"error: reward failing failed its warm-up (scoring one image): {shown}"


def test_batches_go_to_the_servers_in_turn():
    with _Flaky([]) as first, _Flaky([]) as second:
        reward = RemoteReward(f"{first.url},{second.url}", "r", batch_size=2)
        for _ in range(3):
            assert reward(IMAGES, ["a", "b"]).tolist() == [0.25, 0.75]
    assert (first.requests, second.requests) == (2, 1)


def test_a_server_that_is_down_is_passed_over_for_the_next():
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with _Flaky([]) as live:
        reward = RemoteReward(f"{dead},{live.url}", "r", retries=1, backoff=0.0)
        assert reward(IMAGES, ["a", "b"]).tolist() == [0.25, 0.75]
        assert reward(IMAGES, ["a", "b"]).tolist() == [0.25, 0.75]  # the dead one first again
    assert live.requests == 2


def test_every_server_down_is_one_error_naming_the_last_tried():
    ports = []
    for _ in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    reward = RemoteReward(",".join(f"http://127.0.0.1:{p}" for p in ports), "r", retries=1,
                          backoff=0.0)
    with pytest.raises(RemoteRewardError, match=rf"127.0.0.1:{ports[1]} is not reachable.*"
                                                 r"\(after 2 tries\)"):
        reward(IMAGES, ["a", "b"])


def test_no_url_is_refused():
    with pytest.raises(ValueError, match="no reward server URL"):
        RemoteReward(" , ", "r")
