"""The documentation: every results table in README.md and docs/ is what `python -m benchmarks.tables` writes from
the committed results, every table marker names a generator, and the site builds with `mkdocs build --strict`
(a broken link, image or API reference fails it)."""

import os
import subprocess
import sys

import pytest

from benchmarks import tables
from tests.conftest import ROOT, run_python
from zoo.errors import ZooError


def test_every_table_marker_names_a_generator():
    assert tables.unknown_markers() == []


def test_every_generator_writes_a_table_somewhere():
    used = {name for path in tables.marked_files() for name in tables.OPENING.findall(path.read_text())}
    assert sorted(set(tables.TABLES) - used) == []


@pytest.mark.parametrize("path", tables.marked_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_tables_match_their_results(path):
    _, stale = tables.rewrite(path.read_text())
    assert stale == [], f"{path.relative_to(ROOT)}: stale tables {stale}; run `python -m benchmarks.tables`"


def test_the_check_names_a_stale_table(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text("<!-- table:recipe_speed -->\n| made up |\n<!-- /table -->\n")
    monkeypatch.setattr(tables, "marked_files", lambda: [page])
    monkeypatch.setattr(tables, "ROOT", tmp_path)
    assert tables.main(["--check-only"]) == 1
    assert page.read_text().count("made up") == 1
    assert tables.main([]) == 0 and tables.main(["--check-only"]) == 0
    assert "made up" not in page.read_text()


@pytest.mark.parametrize("content, said", [("{not json", "cannot be read as JSON"),
                                            ('{"rows": 3}', "table recipe_speed: its results lack or malform")])
def test_a_broken_results_file_is_named_and_nothing_is_written(tmp_path, monkeypatch, content, said):
    results = tmp_path / "results"
    results.mkdir()
    (results / "recipe_speed.json").write_text(content)
    (results / "serving_speed.json").write_text((tables.RESULTS / "serving_speed.json").read_text())
    pages = [tmp_path / "a.md", tmp_path / "b.md"]
    pages[0].write_text("<!-- table:serving_speed -->\n| old |\n<!-- /table -->\n")  # its results are sound
    pages[1].write_text("<!-- table:recipe_speed -->\n| old |\n<!-- /table -->\n")
    monkeypatch.setattr(tables, "marked_files", lambda: pages)
    monkeypatch.setattr(tables, "ROOT", tmp_path)
    monkeypatch.setattr(tables, "RESULTS", results)
    with pytest.raises(ZooError, match=said):
        tables.main([])
    assert [page.read_text().count("| old |") for page in pages] == [1, 1]


def test_the_site_builds_strict(tmp_path):
    """`mkdocs build --strict`, as CI runs it. Skipped only where the docs packages of requirements.txt are not
    installed, unless ZOO_REQUIRE_DOCS=1 (set by .ci/run) makes that a failure."""
    try:
        import mkdocs  # noqa: F401
        import mkdocstrings  # noqa: F401
    except ImportError as error:
        if os.environ.get("ZOO_REQUIRE_DOCS") == "1":
            raise
        pytest.skip(f"the docs packages of requirements.txt are not installed ({error})")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "reference" / "zoo" / "index.html").is_file()


def test_the_readmes_program_runs_as_written():
    """The README's "Use an artifact in a TensorFlow program" block, run as it stands (imports only tensorflow)."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Use an artifact in a TensorFlow program"):]
    start = section.index("```python\n") + len("```python\n")
    program = section[start:section.index("\n```", start)]
    assert "import tensorflow as tf" in program and "zoo" not in program.replace("saved_models/vae_mnist", "")
    result = run_python(program + "\nprint('shapes', code.shape, probs.shape, again.shape, digits.shape, score.shape)")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "shapes (8, 32) (8, 28, 28, 1) (8, 28, 28, 1) (16, 28, 28, 1) (8,)" in result.stdout
