"""The shared resume-and-reuse cache (zoo.files.ResultStore) and the data fingerprint it is keyed by."""

import json

import pytest

from zoo import files
from zoo.errors import ZooError


def test_results_are_reused_with_the_same_settings_and_data(tmp_path):
    store = files.ResultStore(tmp_path / "results.json", {"k": 5}, "data-a", extra={"command": "python -m x"})
    store.put("run/1", 0.5)
    again = files.ResultStore(tmp_path / "results.json", {"k": 5}, "data-a")
    assert "run/1" in again and again["run/1"] == 0.5
    assert json.loads((tmp_path / "results.json").read_text())["command"] == "python -m x"


def test_results_computed_on_other_data_are_not_reused(tmp_path, capsys):
    files.ResultStore(tmp_path / "results.json", {"k": 5}, "data-a").put("run/1", 0.5)
    fixed = files.ResultStore(tmp_path / "results.json", {"k": 5}, "data-b")
    assert "run/1" not in fixed
    assert "the data changed" in capsys.readouterr().out


def test_other_settings_are_refused_or_recomputed_as_asked(tmp_path, capsys):
    files.ResultStore(tmp_path / "results.json", {"k": 5}, "data-a").put("run/1", 0.5)
    with pytest.raises(ZooError, match=r"other settings \(k=5 there, k=6 now\)"):
        files.ResultStore(tmp_path / "results.json", {"k": 6}, "data-a")
    assert "run/1" not in files.ResultStore(tmp_path / "results.json", {"k": 6}, "data-a", other_settings="recompute")
    assert "holds results of other settings (k=5 there, k=6 now): they are recomputed" in capsys.readouterr().out


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"settings": {}, "results": {}}'])
def test_a_damaged_results_file_is_named_moved_aside_and_recomputed(tmp_path, content, capsys):
    (tmp_path / "results.json").write_text(content)
    store = files.ResultStore(tmp_path / "results.json", {"k": 5}, "data-a")
    assert store.results == {} and (tmp_path / "results.json.damaged").read_text() == content
    assert "results.json: not a results file of this zoo" in capsys.readouterr().out


def test_the_fingerprint_follows_the_bytes(tmp_path):
    (tmp_path / "a").write_bytes(b"123")
    first = files.fingerprint([tmp_path / "a"])
    (tmp_path / "a").write_bytes(b"124")
    assert files.fingerprint([tmp_path / "a"]) != first
    (tmp_path / "a").write_bytes(b"123")
    assert files.fingerprint([tmp_path / "a"]) == first
