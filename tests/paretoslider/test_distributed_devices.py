"""Data-parallel training on a GPU rank: every model the loss reads answers on one device.

There is no GPU here, so DDP's move of a forward's inputs onto the rank's GPU is simulated:
DDP is told it runs on cuda:0, and its input mover wraps the tensors as CPU tensors that
report cuda:0 (everything computed from them reports it too).
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
from torch.nn.parallel import distributed as ddp_module

from paretoslider.trainer import TrainConfig
from paretoslider.trainer.distributed import DistributedTrainer
from paretoslider.trainer.update import nft_minibatch_loss
from paretoslider.worlds.gauss import GaussWorld, make_base_model

torch.set_num_threads(1)
FAKE_GPU = torch.device("cuda", 0)


class _OnFakeGPU(torch.Tensor):
    """A CPU tensor that says it lives on cuda:0; `.to("cpu")` brings it back."""

    @property
    def device(self):
        return FAKE_GPU

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.Tensor.to:
            target = next((a for a in (*args[1:], kwargs.get("device"))
                           if isinstance(a, (str, torch.device))), None)
            if target is not None and torch.device(target).type == "cpu":
                with torch._C.DisableTorchFunctionSubclass():
                    return args[0].as_subclass(torch.Tensor)
        return super().__torch_function__(func, types, args, kwargs)


def _fake_gpu(x):
    if isinstance(x, torch.Tensor):
        return x.as_subclass(_OnFakeGPU)
    if isinstance(x, dict):
        return {k: _fake_gpu(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(_fake_gpu(v) for v in x)
    return x


def _move_to_fake_gpu(inputs, kwargs, device, use_side_stream=False):
    assert device == FAKE_GPU
    return (_fake_gpu(tuple(inputs)),), (_fake_gpu(dict(kwargs)),)


@pytest.fixture
def one_rank_group():
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def _gpu_rank_trainer(monkeypatch) -> DistributedTrainer:
    # two processes as the accelerator says; the group has one, which DDP accepts
    acc = SimpleNamespace(num_processes=2, process_index=0, local_process_index=0,
                          is_main_process=True, device=torch.device("cpu"))
    cfg = TrainConfig(K=2, G=2, sampling_steps=2, full_finetune=True, progress=False,
                      lambda_ref=0.5)
    world = GaussWorld([[1.0, 0.0], [0.0, 1.0]])
    trainer = DistributedTrainer(make_base_model(), world.rewards(), ["p0", "p1"], cfg,
                                 accelerator=acc)
    policy = trainer.state.policy
    policy.device_ids, policy.device_type = [0], "cuda"  # what DDP holds on a GPU rank
    monkeypatch.setattr(ddp_module, "_to_kwargs", _move_to_fake_gpu)
    return trainer


def _output_devices(state) -> dict[str, torch.device]:
    seen = {}

    def record(name):
        def hook(module, args, output):
            seen[name] = output.device  # returns None: the output is left as it is
        return hook

    for name in ("policy", "old", "reference"):
        getattr(state, name).register_forward_hook(record(name))
    return seen


def test_the_simulated_gpu_rank_moves_the_wrapped_policys_inputs(monkeypatch, one_rank_group):
    trainer = _gpu_rank_trainer(monkeypatch)
    inner = trainer.state.policy.module
    got = {}

    def record_input(module, args):
        got["x"] = args[0].device

    inner.register_forward_pre_hook(record_input)
    x = torch.randn(3, *inner.image_shape)
    trainer.state.policy(x, torch.full((3,), 0.5), inner.encode_prompts(["p0"] * 3),
                         torch.full((3, 2), 0.5))
    assert got["x"] == FAKE_GPU  # the backbone saw GPU inputs, as under real DDP


def test_policy_old_and_reference_answer_on_one_device_under_ddp(monkeypatch, one_rank_group):
    trainer = _gpu_rank_trainer(monkeypatch)
    state, b = trainer.state, 4
    seen = _output_devices(state)
    backbone = state.policy.module
    x0 = torch.randn(b, *backbone.image_shape)
    loss = nft_minibatch_loss(state, x0, backbone.encode_prompts(["p0"] * b),
                              torch.full((b, 2), 0.5), torch.ones(b, 2), torch.full((b, 2), 0.5),
                              torch.full((b,), 0.5), torch.randn_like(x0), trainer.cfg)
    assert set(seen) == {"policy", "old", "reference"}
    assert len(set(seen.values())) == 1, seen
    assert loss.device == x0.device
    loss.backward()  # the DDP reducer's all-reduce runs on the gradients
    assert all(p.grad is not None for p in state.trainable_parameters())
