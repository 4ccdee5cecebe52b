import subprocess
import sys

from bench.tune import MERGES, SWEEPS, configs, pick


def test_every_method_gets_a_sweep_of_the_same_size():
    sizes = {name: len(configs(s)) for name, s in {**SWEEPS, **MERGES}.items()}
    assert set(sizes.values()) == {6}, sizes
    assert configs(SWEEPS["flow_multi"])[1] == {"lr": 5e-4, "kl_beta": 0.04}


def test_pick_takes_the_largest_gain_that_keeps_adherence():
    rows = [{"gain": 0.3, "adherence": 0.80}, {"gain": 0.2, "adherence": 0.90},
            {"gain": 0.1, "adherence": 0.95}]
    assert pick(rows, floor=0.85) is rows[1]
    assert pick(rows, floor=0.99) is rows[2]  # none allowed: the most adherent one


def test_unknown_method_is_refused_in_one_line():
    out = subprocess.run([sys.executable, "-m", "bench.tune", "suite=smoke", "only=[nope]"],
                         check=False, capture_output=True, text=True)
    assert out.returncode != 0
    assert out.stderr.strip().splitlines() == ["error: cannot tune ['nope']; known: " +
                                               ", ".join([*SWEEPS, *MERGES])]
