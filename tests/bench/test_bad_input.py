"""Bad input at every entry point, through the real command line: one line `error: ...`,
exit 1 (2 for a malformed command line), before any work starts."""
import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow
RUN = ("bench.run", "suite=smoke")


def records_of_random_bytes(tmp_path):
    (tmp_path / "r" / "s").mkdir(parents=True)
    (tmp_path / "r" / "s" / "records.jsonl").write_bytes(bytes(range(256)) * 8)


def record_without_judges(tmp_path):
    (tmp_path / "r" / "s").mkdir(parents=True)
    rec = {"suite": "s", "method": "paretoslider", "seed": 0, "w": [1.0, 0.0],
           "objectives": ["photo", "sketch"], "heldout": ["photo_heldout", "sketch_heldout"],
           "ranges": {k: [0, 1] for k in ("photo", "sketch", "photo_heldout", "sketch_heldout")},
           "rewards": {"photo": 0.5, "sketch": 0.5}, "quality": {}, "cost": {}}
    (tmp_path / "r" / "s" / "records.jsonl").write_text(json.dumps(rec) + "\n")


def weights_without_sidecar(tmp_path):
    (tmp_path / "w.safetensors").write_bytes(b"x")


CASES = [
    (RUN + ("suite.seeds=[abc]",), 1, "seeds must be distinct integers >= 0", None),
    (RUN + ("suite.seeds=[0,0]",), 1, "seeds must be distinct integers >= 0", None),
    (RUN + ("suite.seeds=[-1]",), 1, "seeds must be distinct integers >= 0", None),
    (RUN + ("suite.budget.passes=lots",), 1, "budget.passes must be > 0", None),
    (RUN + ("workers=0",), 1, "workers: Input should be greater than or equal to 1", None),
    (RUN + ("workers=abc",), 1, "workers: Input should be a valid integer", None),
    (RUN + ("threads=0",), 1, "threads: Input should be greater than or equal to 1", None),
    (RUN + ("suite.grid.n=0",), 1, "grid.n must be an integer >= 2, got 0", None),
    (RUN + ("suite.trainer.lr=-1",), 1, "trainer: lr must be > 0", None),
    (RUN + ("suite.eval.samples_per_prompt=0",), 1, "eval.samples_per_prompt", None),
    (RUN + ("only_methods=[]",), 1, "only_methods: lists no method", None),
    (RUN + ("only_seeds=[]",), 1, "only_seeds: must list distinct seeds", None),
    (RUN + ("only_seeds=[7]",), 1, "only_seeds [7] are not among the suite's seeds", None),
    (RUN + ("colour=red",), 1, "unknown setting 'colour'", None),
    (RUN + ("-m", "suite=smoke,two_obj", "workers=0"), 1, "workers: Input should be", None),
    (("bench.slider", "--seconds", "1"), 2, "unrecognized arguments: --seconds", None),
    (("bench.slider", "--suite", "nosuch"), 2, "argument --suite: invalid choice", None),
    (("bench.slider", "--threads", "0"), 2, "argument --threads: must be > 0", None),
    (("bench.slider", "lr=abc"), 1, "lr must be a number, got 'abc'", None),
    (("paretoslider.worlds.report", "--n", "0"), 2, "argument --n: must be > 0", None),
    (("paretoslider.worlds.report", "--weights", "w.safetensors"), 1, "has no sidecar w.json",
     weights_without_sidecar),
    (("paretoslider.worlds.pretrain", "--steps", "-5"), 2, "argument --steps: must be > 0", None),
    (("paretoslider.rewards.train_judges", "--threads", "x"), 2, "is not an int", None),
    (("bench.resume_check", "--suite", "nosuch"), 2, "argument --suite: invalid choice", None),
    (("bench.resume_check", "--kills", "-1"), 2, "argument --kills: must be > 0", None),
    (("bench.report", "suite=s", "colour=red"), 2, "unknown argument 'colour'", None),
    (("bench.report", "suite=s", "results_dir=r"), 1, "no records in r/s/records.jsonl",
     records_of_random_bytes),
    (("bench.report", "suite=s", "results_dir=r"), 1, "error: ", record_without_judges),
    (("bench.doctor", "--bogus"), 2, "unrecognized arguments: --bogus", None),
    (RUN + ("suite.ref_point=[5.0,-3.0]",), 1, "ref_point [5.0, -3.0] must lie in the", None),
    (RUN + ("suite.checkpoints=[0.5,1.0]",), 1, "so it is added with a '+': +suite.checkpoints", None),
    (RUN + ("only_methods=[paretoslider,fixed_wieght]",), 1,
     "unknown method in only_methods 'fixed_wieght'", None),
    (RUN + ("suite.prompts=[a blob]",), 1, "prompt: prompt 'a blob' names no shape", None),
    (RUN + ("results_dir=a😀",), 2, "cannot parse the command line", None),
    (RUN + ("results_dir=my", "runs"), 2, "quote a value with spaces", None),
    (RUN + ("cache_dir=cachefile",), 1, "cache directory cachefile/out/smoke is not writable",
     lambda tmp: (tmp / "cachefile").write_text("")),
    (RUN + ("cache_dir=" + "d" * 200 + "/" + "/".join(["e" * 200] * 20),), 1, "is too deep",
     None),
    (("bench.tune", "nosuch=1"), 2, "expected one of suite=...", None),
    (("bench.compare", "a", "b"), 1, "cannot compare suite smoke (M = 2",
     lambda tmp: _two_suites(tmp)),
]


def _two_suites(tmp_path):
    """Folders a (suite smoke) and b (suite three_obj, M = 3) with one record each."""
    from tests.bench.conftest import make_record

    for folder, suite, names in (("a", "smoke", ("photo", "sketch")),
                                 ("b", "three_obj", ("photo", "sketch", "size"))):
        rec = make_record("paretoslider", 0, [1.0, 0.0] if len(names) == 2 else [1.0, 0, 0],
                          [0.5] * len(names), [0.5] * len(names), names=names, suite=suite)
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "records.jsonl").write_text(json.dumps(rec) + "\n")


@pytest.mark.parametrize("args, code, message, setup", CASES,
                         ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path, args, code, message, setup):
    if setup is not None:
        setup(tmp_path)
    extra = (f"results_dir={tmp_path / 'out'}",) if args[0] == "bench.run" else ()
    out = subprocess.run([sys.executable, "-m", *args, *extra], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300, check=False)
    lines = [ln for ln in out.stderr.splitlines() if not ln.startswith("warning: ")]
    assert out.returncode == code, out.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], out.stderr
    assert not (tmp_path / "out").exists()  # nothing written: no work started
