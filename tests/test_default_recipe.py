"""benchmarks.default_recipe on a small budget: both sides run as whole processes, the curves are drawn."""

import json

from benchmarks import default_recipe
from tests.conftest import ROOT


def test_before_and_after_runs_are_timed_and_drawn(mnist_dir, tmp_path):
    out = tmp_path / "default_recipe.json"
    default_recipe.main(["--data-dir", mnist_dir, "--before", str(ROOT), "--before-flags", "--batch-size 100",
                         "--extra-flags", "--train-limit 1000 --epochs 2 --eval-samples 2 --hidden-units 16",
                         "--repeats", "1", "--out", str(out)])
    results = json.loads(out.read_text())
    before, after = results["runs"]["before"][0], results["runs"]["after"][0]
    assert before["run_config"]["batch_size"] == 100 and after["run_config"]["batch_size"] == 500
    for run in (before, after):
        assert len(run["val_loss"]) == 2 and run["wall_seconds"] > run["train_seconds"] > 0
        assert 0 < run["test_nll_nats"] < 800  # 784 log 2 = 543 nats is a model that learned nothing
    assert results["wall_speedup"] > 0
    assert (tmp_path / default_recipe.CURVES).stat().st_size > 10_000
