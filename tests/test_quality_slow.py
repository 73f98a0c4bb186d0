"""Quality on real MNIST with the recipe's defaults: minutes, not seconds, so marked slow (`pytest -m slow`)."""

import json

import pytest

from tests.conftest import run_python


@pytest.mark.slow
def test_default_recipe_gives_a_meaningful_vae(mnist_dir, tmp_path):
    result = run_python(["-m", "recipes.vae_mnist", "--data-dir", mnist_dir, "--run-dir", str(tmp_path / "run"),
                         "--export-dir", str(tmp_path / "artifact")], timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    # The default epochs of the default MLP VAE must do far better than an untrained
    # model (784 log 2 = 543 nats) or independent Bernoulli pixels with the mean training image (205.8 nats on
    # this test set, computed with numpy).
    assert metrics["test_nll_nats"] < 100
    assert metrics["test_nll_nats"] < -metrics["test_elbo_nats"]
