"""Records: atomic appends, truncated lines, resume keys, hashes and provenance."""

import hashlib
import os
import threading

import numpy as np
import pytest

from bench.store import records as rec_mod
from bench.store.records import (
    RecordError,
    TruncatedRecordError,
    append_record,
    config_hash,
    done_keys,
    environment_versions,
    git_commit,
    read_records,
    record_key,
    repair_records,
)


def cell(method="paretoslider", seed=0, w=(0.3, 0.7), **extra):
    return {"method": method, "seed": seed, "w": list(w), **extra}


def test_round_trip_with_numpy_values(tmp_path):
    path = tmp_path / "sub" / "records.jsonl"
    append_record(path, cell(score=np.float32(0.5), n=np.int64(3), arr=np.arange(2)))
    append_record(path, cell(seed=1))
    got = read_records(path)
    assert [r["seed"] for r in got] == [0, 1]
    assert (got[0]["score"], got[0]["n"], got[0]["arr"]) == (0.5, 3, [0, 1])
    assert read_records(tmp_path / "missing.jsonl") == []


def test_each_record_is_one_complete_write(tmp_path, monkeypatch):
    writes = []
    real_write = os.write

    def spy(fd, data):
        writes.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(rec_mod.os, "write", spy)
    append_record(tmp_path / "r.jsonl", cell())
    append_record(tmp_path / "r.jsonl", cell(seed=1))
    assert len(writes) == 2
    assert all(w.endswith(b"\n") and w.count(b"\n") == 1 for w in writes)


def test_non_finite_values_are_refused(tmp_path):
    with pytest.raises(ValueError):
        append_record(tmp_path / "r.jsonl", cell(score=float("nan")))
    assert read_records(tmp_path / "r.jsonl") == []


def test_concurrent_appends_keep_every_line_whole(tmp_path):
    path = tmp_path / "r.jsonl"
    pad = "x" * 2000  # lines longer than typical buffers

    def worker(seed):
        for i in range(25):
            append_record(path, cell(seed=seed, w=(i / 25, 1 - i / 25), pad=pad))

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(read_records(path, strict=True)) == 100
    assert len(done_keys(path)) == 100


def test_truncated_last_line_is_skipped_or_raised(tmp_path):
    path = tmp_path / "r.jsonl"
    append_record(path, cell())
    with open(path, "a") as f:
        f.write('{"method": "paretoslider", "se')
    with pytest.warns(UserWarning, match="truncated line 2"):
        assert len(read_records(path)) == 1
    with pytest.raises(TruncatedRecordError):
        read_records(path, strict=True)


def test_append_after_interrupted_write_starts_a_new_line(tmp_path):
    path = tmp_path / "r.jsonl"
    append_record(path, cell())
    with open(path, "a") as f:
        f.write('{"method": "paretoslider", "seed": 1, "w": [0.')
    append_record(path, cell(seed=2))
    with pytest.warns(UserWarning, match="broken line 2"):
        assert [r["seed"] for r in read_records(path)] == [0, 2]
    with pytest.raises(RecordError, match="line 2"):
        read_records(path, strict=True)
    assert done_keys_quiet(path) == {("paretoslider", 0, (0.3, 0.7)),
                                     ("paretoslider", 2, (0.3, 0.7))}


def done_keys_quiet(path):
    with pytest.warns(UserWarning):
        return done_keys(path)


def test_append_closes_a_complete_unterminated_line(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"method": "m", "seed": 5, "w": [1.0]}')
    append_record(path, cell(seed=6))
    assert [r["seed"] for r in read_records(path, strict=True)] == [5, 6]


def test_resume_keys_round_w(tmp_path):
    assert record_key("m", np.int64(2), [0.1 + 0.2, 0.7]) == ("m", 2, (0.3, 0.7))
    path = tmp_path / "r.jsonl"
    for w in ([0.1 + 0.2, 0.7], [1.0, 0.0]):
        append_record(path, cell(w=w))
    keys = done_keys(path)
    assert keys == {("paretoslider", 0, (0.3, 0.7)), ("paretoslider", 0, (1.0, 0.0))}
    assert record_key("paretoslider", 0, (0.3000000001, 0.7)) in keys
    assert done_keys(read_records(path)) == keys


def test_config_hash_is_sorted_json_sha256():
    expected = hashlib.sha256(b'{"a":1,"b":{"c":[1,2],"d":"x"}}').hexdigest()
    assert config_hash({"b": {"d": "x", "c": [1, 2]}, "a": 1}) == expected
    assert config_hash({"a": 2}) != config_hash({"a": 1})


def test_environment_versions():
    versions = environment_versions(("numpy", "surely-not-installed-pkg"))
    assert versions["numpy"] == np.__version__
    assert versions["surely-not-installed-pkg"] is None
    assert versions["python"].count(".") == 2


def test_git_commit_from_git_files(tmp_path):
    assert git_commit(tmp_path) is None
    repo = tmp_path / "repo"
    (repo / ".git" / "refs" / "heads").mkdir(parents=True)
    (repo / "sub").mkdir()
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (repo / ".git" / "refs" / "heads" / "main").write_text("a" * 40 + "\n")
    assert git_commit(repo / "sub") == "a" * 40
    (repo / ".git" / "refs" / "heads" / "main").unlink()
    (repo / ".git" / "packed-refs").write_text(f"# pack-refs\n{'b' * 40} refs/heads/main\n")
    assert git_commit(repo) == "b" * 40
    (repo / ".git" / "HEAD").write_text("c" * 40 + "\n")  # detached
    assert git_commit(repo) == "c" * 40
    worktree = tmp_path / "wt"
    worktree.mkdir()
    (worktree / ".git").write_text(f"gitdir: {repo / '.git'}\n")
    assert git_commit(worktree) == "c" * 40


def test_repair_drops_fragments_and_keeps_every_complete_record(tmp_path):
    path = tmp_path / "r.jsonl"
    append_record(path, cell())
    with open(path, "a") as f:
        f.write('{"method": "paretoslider", "seed": 1, "w": [0.')  # interrupted write
    append_record(path, cell(seed=2))
    with open(path, "a") as f:
        f.write('{"method": "paretoslider", "seed": 3')  # and another, at the end
    assert repair_records(path) == 2
    assert [r["seed"] for r in read_records(path, strict=True)] == [0, 2]
    assert path.read_text().endswith("\n")
    assert repair_records(path) == 0 and repair_records(tmp_path / "missing.jsonl") == 0


def test_random_bytes_read_as_broken_lines_not_an_error(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.warns(UserWarning, match="skipping"):
        assert read_records(path) == []
    assert repair_records(path) > 0 and path.read_text() == ""
