import dataclasses
import json

import pytest

from recipes import vae_mnist
from tests.conftest import run_python
from zoo import cli, training
from zoo.config import ZooError


@pytest.mark.parametrize("argv, message", [
    (["--latent-dim", "0"], "--latent-dim must be positive; received --latent-dim=0"),
    (["--batch-size", "-5"], "--batch-size must be positive; received --batch-size=-5"),
    (["--beta", "-0.5"], "--beta must be >= 0; received --beta=-0.5"),
    (["--arch", "rnn"], "argument --arch: invalid choice: 'rnn'"),
    (["--data-dir", "/no/such/dir"], "--data-dir directory does not exist: /no/such/dir"),
    (["--epochs", "ten"], "argument --epochs: invalid int value: 'ten'"),
])
def test_bad_flags_exit_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.parse(vae_mnist.VAEMnistConfig, argv, prog="vae_mnist")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_help_lists_the_flags(capsys):
    with pytest.raises(SystemExit):
        cli.parse(vae_mnist.VAEMnistConfig, ["--help"])
    out = capsys.readouterr().out
    for name in ("--epochs", "--batch-size", "--latent-dim", "--arch", "--beta", "--importance-samples",
                 "--learning-rate", "--seed", "--data-dir", "--run-dir", "--export-dir", "--xla", "--eval-samples"):
        assert name in out


def test_bad_flag_from_the_command_line_has_no_traceback():
    result = run_python(["-m", "recipes.vae_mnist", "--latent-dim", "-3"])
    assert result.returncode == 2
    assert result.stderr == "python -m recipes.vae_mnist: error: --latent-dim must be positive; received --latent-dim=-3\n"


def test_recipe_trains_resumes_and_exports(mnist_dir, tmp_path):
    run_dir, export_dir = tmp_path / "run", tmp_path / "artifact"
    args = ["-m", "recipes.vae_mnist", "--data-dir", mnist_dir, "--train-limit", "1000", "--latent-dim", "2",
            "--hidden-units", "64", "--eval-samples", "20", "--run-dir", str(run_dir), "--export-dir", str(export_dir)]
    first = run_python(args + ["--epochs", "1"])
    assert first.returncode == 0, first.stderr[-3000:]
    second = run_python(args + ["--epochs", "2"])
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming" in second.stdout and "after epoch 1 of 2" in second.stdout
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["nll_importance_samples"] == 20
    assert metrics["test_nll_nats"] < -metrics["test_elbo_nats"] + 1.0  # k=20 bound is (nearly) tighter
    assert metrics["throughput_images_per_s"] > 0
    state = json.loads((run_dir / "checkpoint.json").read_text())
    assert [h["epoch"] for h in state["history"]] == [1, 2]
    card = json.loads((export_dir / "card.json").read_text())
    assert card["flags"]["latent_dim"] == 2 and card["metrics"]["test_nll_nats"]["value"] == metrics["test_nll_nats"]
    assert "recipes.vae_mnist" in card["metrics"]["test_nll_nats"]["command"]
    for png in ("reconstructions.png", "samples.png", "latent_space.png", "interpolation.png"):
        assert (export_dir / png).stat().st_size > 1000
    assert (run_dir / "logs").is_dir()


def test_nan_stops_training_and_keeps_the_last_good_checkpoint(mnist_dir, tmp_path):
    config = vae_mnist.VAEMnistConfig(data_dir=mnist_dir, train_limit=500, epochs=1, hidden_units=(32,),
                                      run_dir=str(tmp_path), export_dir="")
    training.train(config, verbose=0)
    good_weights = (tmp_path / "checkpoint.weights.h5").read_bytes()
    exploding = dataclasses.replace(config, epochs=3, learning_rate=1e30)
    with pytest.raises(training.TrainingDiverged, match="non-finite in epoch 2.*still holds epoch 1"):
        training.train(exploding, verbose=0)
    assert json.loads((tmp_path / "checkpoint.json").read_text())["epochs_done"] == 1
    assert (tmp_path / "checkpoint.weights.h5").read_bytes() == good_weights


def test_resuming_a_run_dir_of_another_model_is_refused(mnist_dir, tmp_path):
    config = vae_mnist.VAEMnistConfig(data_dir=mnist_dir, train_limit=200, epochs=1, hidden_units=(16,),
                                      run_dir=str(tmp_path), export_dir="")
    training.train(config, verbose=0)
    with pytest.raises(ZooError, match=r"holds a run of another model \(latent_dim=32 there, latent_dim=3 now\)"):
        training.train(dataclasses.replace(config, latent_dim=3, epochs=2), verbose=0)
