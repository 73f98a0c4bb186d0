import dataclasses
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from recipes import vae_mnist
from tests.conftest import ROOT, run_python
from zoo import flags, training
from zoo.errors import ZooError


@pytest.mark.parametrize("argv, message", [
    (["--latent-dim", "0"], "--latent-dim must be in 1..10000; received --latent-dim=0"),
    (["--batch-size", "-5"], "--batch-size must be in 1..60000; received --batch-size=-5"),
    (["--beta", "-0.5"], "--beta must be >= 0; received --beta=-0.5"),
    (["--arch", "rnn"], "argument --arch: invalid choice: 'rnn'"),
    (["--data-dir", "/no/such/dir"], "--data-dir directory does not exist: /no/such/dir"),
    (["--epochs", "ten"], "argument --epochs: invalid int value: 'ten'"),
    (["--beta", "4", "--importance-samples", "5"], "use one or the other; received --beta=4.0, --importance-samples=5"),
])
def test_bad_flags_exit_2_with_one_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        flags.parse(vae_mnist.VAEMnistConfig, argv, prog="vae_mnist")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_help_lists_the_flags(capsys):
    with pytest.raises(SystemExit):
        flags.parse(vae_mnist.VAEMnistConfig, ["--help"])
    out = capsys.readouterr().out
    for name in ("--epochs", "--batch-size", "--latent-dim", "--arch", "--beta", "--importance-samples",
                 "--learning-rate", "--seed", "--data-dir", "--run-dir", "--export-dir", "--xla", "--eval-samples"):
        assert name in out


def test_bad_flag_from_the_command_line_has_no_traceback():
    result = run_python(["-m", "recipes.vae_mnist", "--latent-dim", "-3"])
    assert result.returncode == 2
    assert result.stderr == "python -m recipes.vae_mnist: error: --latent-dim must be in 1..10000; received --latent-dim=-3\n"


def test_recipe_resumes_after_an_interruption_and_exports(mnist_dir, tmp_path):
    run_dir, export_dir = tmp_path / "run", tmp_path / "artifact"
    args = ["-m", "recipes.vae_mnist", "--data-dir", mnist_dir, "--train-limit", "20000", "--batch-size", "100", "--latent-dim", "2",
            "--epochs", "2", "--eval-samples", "20", "--run-dir", str(run_dir), "--export-dir", str(export_dir)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    first = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not (run_dir / "checkpoint.json").exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    first.kill()  # interrupted during epoch 2
    first.wait()
    assert json.loads((run_dir / "checkpoint.json").read_text())["epochs_done"] == 1
    assert not (run_dir / "metrics.json").exists()
    second = run_python(args)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming" in second.stdout and "after epoch 1 of 2" in second.stdout
    # TensorFlow's C++ start-up lines (an "E0000 ... failed call to cuInit" among them) are kept off the terminal.
    noise = [line for line in second.stderr.splitlines() if line.startswith(("I0000", "E0000", "WARNING: All log"))]
    assert noise == []
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["nll_importance_samples"] == 20
    assert metrics["test_nll_nats"] < -metrics["test_elbo_nats"] + 1.0  # k=20 bound is (nearly) tighter
    assert metrics["throughput_images_per_s"] > 0
    state = json.loads((run_dir / "checkpoint.json").read_text())
    assert [h["epoch"] for h in state["history"]] == [1, 2]
    assert state["history"][1]["loss"] < state["history"][0]["loss"]
    assert sorted(p.name for p in run_dir.glob("*.keras")) == ["epoch-0002.keras"]
    card = json.loads((export_dir / "card.json").read_text())
    assert card["flags"]["latent_dim"] == 2 and card["metrics"]["test_nll_nats"]["value"] == metrics["test_nll_nats"]
    assert card["metrics"]["test_nll_nats"]["command"].startswith("python -m recipes.vae_mnist --data-dir")
    for png in ("reconstructions.png", "samples.png", "latent_space.png", "interpolation.png"):
        assert (export_dir / png).stat().st_size > 1000
    assert (run_dir / "logs").is_dir()


def small_config(mnist_dir, run_dir, **changes):
    settings = dict(data_dir=mnist_dir, train_limit=500, batch_size=100, learning_rate=1e-3, epochs=1, hidden_units=(32,),
                    run_dir=str(run_dir),
                    export_dir="")
    return vae_mnist.VAEMnistConfig(**{**settings, **changes})


def test_restore_brings_back_weights_and_optimizer_state(mnist_dir, tmp_path):
    config = small_config(mnist_dir, tmp_path, epochs=2)
    trained, _, checkpoint = training.train(config, verbose=0)
    fresh = training.build_model(config, tf.distribute.get_strategy(), 5, False)
    resumed = training.EpochCheckpoint(tmp_path, 500, checkpoint.run_config)
    assert resumed.restore(fresh) == 2
    assert int(fresh.optimizer.iterations) == int(trained.optimizer.iterations) == 10
    for mine, theirs in zip(fresh.weights + fresh.optimizer.variables, trained.weights + trained.optimizer.variables):
        if "seed_generator" not in mine.path:
            np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_divergence_from_the_start_writes_no_checkpoint(mnist_dir, tmp_path):
    with pytest.raises(training.TrainingDiverged, match="non-finite in epoch 1"):
        training.train(small_config(mnist_dir, tmp_path, learning_rate=1e30), verbose=0)
    assert not (tmp_path / "checkpoint.json").exists() and not list(tmp_path.glob("*.keras"))


def test_a_nan_epoch_keeps_the_last_good_checkpoint(mnist_dir, tmp_path):
    config = small_config(mnist_dir, tmp_path, epochs=2)
    model, _, checkpoint = training.train(dataclasses.replace(config), verbose=0)
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.keras")}
    state_before = (tmp_path / "checkpoint.json").read_text()
    checkpoint.set_model(model)
    checkpoint.on_train_begin()
    checkpoint.on_epoch_begin(2)
    checkpoint.on_epoch_end(2, {"loss": float("nan"), "kl": 1.0})
    assert checkpoint.diverged_at == 3 and model.stop_training
    assert (tmp_path / "checkpoint.json").read_text() == state_before
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.keras")} == before


def test_resuming_a_run_dir_with_other_settings_is_refused(mnist_dir, tmp_path):
    config = small_config(mnist_dir, tmp_path)
    training.train(config, verbose=0)
    with pytest.raises(ZooError, match=r"holds a run with other settings \(latent_dim=32 there, latent_dim=3 now\)"):
        training.train(dataclasses.replace(config, latent_dim=3), verbose=0)
    with pytest.raises(ZooError, match=r"\(epochs=1, learning_rate=0.001 there, epochs=2, learning_rate=0.01 now\)"):
        training.train(dataclasses.replace(config, epochs=2, learning_rate=0.01), verbose=0)


def test_a_finished_run_goes_on_with_more_epochs_only_at_a_constant_rate(mnist_dir, tmp_path):
    argv = ["--data-dir", mnist_dir, "--train-limit", "500", "--hidden-units", "32", "--latent-dim", "2",
            "--eval-samples", "5", "--export-dir", ""]
    constant = [*argv, "--lr-schedule", "constant", "--run-dir", str(tmp_path / "constant")]
    vae_mnist.main([*constant, "--epochs", "1"])
    assert vae_mnist.main([*constant, "--epochs", "2"])["epochs"] == 2
    state = json.loads((tmp_path / "constant" / "checkpoint.json").read_text())
    assert [h["epoch"] for h in state["history"]] == [1, 2] and state["run_config"]["epochs"] == 2
    cosine = [*argv, "--lr-schedule", "cosine", "--run-dir", str(tmp_path / "cosine")]
    vae_mnist.main([*cosine, "--epochs", "1"])
    with pytest.raises(ZooError, match=r"other settings \(epochs=1 there, epochs=2 now\)"):
        vae_mnist.main([*cosine, "--epochs", "2"])


def test_a_run_from_before_a_model_argument_or_a_flag_existed_resumes_with_its_default(mnist_dir, tmp_path):
    config = small_config(mnist_dir, tmp_path)
    training.train(config, verbose=0)
    state = json.loads((tmp_path / "checkpoint.json").read_text())
    del state["run_config"]["beta"], state["run_config"]["gradient_estimator"]  # as an older run wrote it
    del state["run_config"]["train_digits"]  # a flag added since
    (tmp_path / "checkpoint.json").write_text(json.dumps(state))
    _, _, checkpoint = training.train(config, verbose=0)  # resumes (nothing left to train) instead of refusing
    assert checkpoint.state["epochs_done"] == 1
    with pytest.raises(ZooError, match=r"\(beta=1.0 there, beta=4.0 now\)"):  # a non-default value is still refused
        training.train(dataclasses.replace(config, beta=4.0), verbose=0)


def test_profile_steps_write_a_profiler_trace(mnist_dir, tmp_path):
    from recipes.vae_mnist import VAEMnistConfig

    config = VAEMnistConfig(data_dir=mnist_dir, train_limit=1000, batch_size=100, epochs=1, hidden_units=(16,), latent_dim=2,
                            run_dir=str(tmp_path), export_dir="", profile_steps="3,5")
    training.train(config, verbose=0)
    traces = list((tmp_path / "logs").rglob("*.xplane.pb"))
    assert traces and traces[0].stat().st_size > 0
