import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    # the machine's other core is busy: more threads make small models slower, not faster
    torch.set_num_threads(1)
