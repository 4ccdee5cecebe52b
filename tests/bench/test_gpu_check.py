"""`python -m bench.gpu_check` at tiny shapes on the CPU: every stage runs and is printed."""
from __future__ import annotations

import re

import torch

from bench.cli import gpu_check


def test_the_gpu_check_runs_every_stage_at_tiny_shapes(capsys):
    threads = torch.get_num_threads()
    try:
        gpu_check.main(["--tiny", "--minibatch", "2", "--eval-batch", "2"])
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert out.startswith("device: cpu (tiny shapes")
    assert re.search(r"^versions: torch \S+ .*diffusers \S+, peft \S+, accelerate \S+$", out, re.MULTILINE)
    stages = re.findall(r"^stage ([^:(]+?) ?[:(]", out, re.MULTILINE)
    assert stages == ["load", "prompt encoding", "training step", "EMA", "evaluation"]
    assert "stage training step (minibatch 2," in out and "stage evaluation (batch 2," in out
    assert re.search(r"^step time: \d+\.\d+ s per update visit", out, re.MULTILINE)
    size = float(re.search(r"^checkpoint: (\d+\.\d) MiB$", out, re.MULTILINE).group(1))
    assert 0 < size < 10
    assert re.search(r"^ddp: (gloo on cpu, loss \S+|skipped \(.+\))$", out, re.MULTILINE)
