"""Kill `bench.run suite=smoke` at two random moments, rerun: the records match an
uninterrupted run. Also: the same seed gives identical records, another seed other ones."""
import os
import random

import pytest

from bench.cli.resume_check import comparable, differences, finish, killed_run, start

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    root = tmp_path_factory.mktemp("whole")
    finish(start(root, "smoke"), timeout=600)
    return root


def test_kill_anywhere_then_resume_gives_the_same_records(tmp_path, whole):
    rng = random.Random(os.getpid())
    killed_run(tmp_path, "smoke", kills=2, window=(4.0, 14.0), rng=rng)
    assert differences(comparable(whole, "smoke"), comparable(tmp_path, "smoke")) == []


def test_another_seed_gives_other_records(tmp_path, whole):
    finish(start(tmp_path, "smoke", "suite.seeds=[5]", "only_methods=[paretoslider]"), 600)
    seed0 = {k[2]: v for k, v in comparable(whole, "smoke").items() if k[0] == "paretoslider"}
    seed5 = {k[2]: v for k, v in comparable(tmp_path, "smoke").items()}
    assert seed0.keys() == seed5.keys()
    assert all(seed0[w][0] != seed5[w][0] for w in seed0)
