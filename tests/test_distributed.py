"""Training through tf.distribute: two worker processes on 127.0.0.1 with --strategy multi_worker, against one
process on one device; TF_CONFIG checked before TensorFlow starts."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import ROOT, run_python
from zoo import cluster

WORKER_TIMEOUT_S = 300

MIRRORED = """
import json, sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import zoo

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    model = zoo.get("vae", latent_dim=4, hidden_units=(32,), seed=5)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
images = (np.random.default_rng(0).random((256, 28, 28, 1)) < 0.2).astype(np.float32)
dataset = tf.data.Dataset.from_tensor_slices((images, np.zeros(256, np.int32))).repeat().batch(16, drop_remainder=True)
before = [w.numpy().copy() for w in model.trainable_weights]
history = model.fit(dataset, steps_per_epoch=8, epochs=2, verbose=0)
moved = any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
# batch_noise: each replica keeps its rows of the global batch's draw, which one device draws whole.
state = model.seed_generator.state.numpy().copy()
noise = strategy.run(tf.function(lambda: model.batch_noise(tf.random.stateless_normal, [2, 3])))
per_replica = [n.numpy().tolist() for n in strategy.experimental_local_results(noise)]
model.seed_generator.state.assign(state)
whole = model.batch_noise(tf.random.stateless_normal, [4, 3]).numpy().tolist()

# One SGD step on the same global batch, mirrored over 2 replicas and on one device, from the same
# weights: with the loss scaled by 1/replicas the two updates have the same size (without it, twice).
initial = zoo.get("vae", latent_dim=4, hidden_units=(32,), seed=5).get_weights()

def one_step_update(strategy):
    with strategy.scope():
        twin = zoo.get("vae", latent_dim=4, hidden_units=(32,), seed=5)
        twin.set_weights(initial)
        twin.compile(optimizer=keras.optimizers.SGD(0.01), jit_compile=False)
    start = [w.numpy().copy() for w in twin.trainable_weights]
    twin.fit(tf.data.Dataset.from_tensor_slices(images).batch(256).take(1), epochs=1, verbose=0)
    return np.sqrt(sum(np.sum((w.numpy() - s) ** 2) for w, s in zip(twin.trainable_weights, start)))

ratio = float(one_step_update(strategy) / one_step_update(tf.distribute.OneDeviceStrategy("/cpu:0")))
json.dump({"replicas": strategy.num_replicas_in_sync, "loss": history.history["loss"], "moved": moved,
           "noise": per_replica, "whole": whole, "update_ratio": ratio}, open(sys.argv[1], "w"))
"""


def test_vae_trains_under_mirrored_strategy_on_two_cpus(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED)
    result = run_python([str(script), str(tmp_path / "out.json")])
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["replicas"] == 2
    assert all(np.isfinite(out["loss"])) and out["loss"][1] < out["loss"][0]
    assert out["moved"]
    first, second = out["noise"]
    assert first != second  # each replica draws its own noise ...
    assert first + second == out["whole"]  # ... and together what one device draws for the global batch
    assert 0.85 < out["update_ratio"] < 1.15



def start_workers(args, workers=2):
    """The same command in `workers` processes of a cluster on 127.0.0.1, each with its TF_CONFIG."""
    return [subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2",
                                             "TF_CONFIG": config})
            for config in cluster.local_cluster(workers)]


def run_workers(args, workers=2):
    """The same command in `workers` processes, each with its TF_CONFIG; their CompletedProcess-like results."""
    processes = start_workers(args, workers)
    results = []
    for process in processes:
        try:
            out, err = process.communicate(timeout=WORKER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            raise
        results.append((process.returncode, out, err))
    return results


def trained_weights(run_dir):
    import zoo

    state = json.loads((run_dir / "checkpoint.json").read_text())
    return zoo.load(run_dir / state["weights_file"]).get_weights()


LEARNING_RATE = 1e-3
# One step of each: the training split is one global batch.
RECIPES = {
    "vae": ["-m", "recipes.vae_mnist", "--hidden-units", "64", "--latent-dim", "4"],
    "gan": ["-m", "recipes.gan_mnist"],
    "ae": ["-m", "recipes.ae_mnist", "--hidden-units", "64"],
}


# The other families, each on its own path through batch_noise, labels or its penalty: slow (pytest -m slow), a
# minute or two each.
MORE_RECIPES = {
    # Keras's Dropout draws the same mask on every replica, not one device's mask for the global batch: off here.
    "classifier": ["-m", "recipes.mnist_classifier", "--dropout", "0", "--feature-units", "16"],
    "cvae": ["-m", "recipes.cvae_mnist", "--hidden-units", "64", "--latent-dim", "4"],
    "denoising_ae": ["-m", "recipes.denoising_ae_mnist", "--hidden-units", "64"],
    "denoising_ae_mixed": ["-m", "recipes.denoising_ae_mnist", "--hidden-units", "64", "--corruption", "mixed"],
    "contractive_ae": ["-m", "recipes.contractive_ae_mnist", "--hidden-units", "64", "64"],
    "sparse_ae": ["-m", "recipes.sparse_ae_mnist", "--hidden-units", "64"],
    "tied_ae": ["-m", "recipes.tied_ae_mnist", "--hidden-units", "64"],
    "linear_ae": ["-m", "recipes.linear_ae_mnist"],
}
ALL_RECIPES = {**RECIPES, **MORE_RECIPES}


@pytest.mark.parametrize("family", [*sorted(RECIPES),
                                    *(pytest.param(name, marks=pytest.mark.slow) for name in sorted(MORE_RECIPES))])
def test_two_workers_take_the_step_one_device_takes(family, mnist_dir, tmp_path):
    common = [*ALL_RECIPES[family], "--data-dir", mnist_dir, "--train-limit", "200", "--batch-size", "200",
              "--learning-rate", str(LEARNING_RATE), "--epochs", "1", "--eval-samples", "2", "--export-dir", ""]
    single = run_python([*common, "--strategy", "one", "--run-dir", str(tmp_path / "single")])
    assert single.returncode == 0, single.stderr[-3000:]
    results = run_workers([*common, "--strategy", "multi_worker", "--run-dir", str(tmp_path / "workers")])
    for code, _, err in results:
        assert code == 0, err[-3000:]
    assert "the chief evaluates" in results[1][1]
    assert (tmp_path / "workers" / "metrics.json").exists()  # the chief's
    one, two = trained_weights(tmp_path / "single"), trained_weights(tmp_path / "workers")
    assert len(one) == len(two) and [a.shape for a in one] == [b.shape for b in two]
    one, two = np.concatenate([a.ravel() for a in one]), np.concatenate([b.ravel() for b in two])
    # Adam's first step divides each gradient by its own size: a weight whose gradient is a near-cancelling sum
    # (summed in another order over two workers) may move by up to the learning rate either way. The GAN has more
    # of them: its generator steps through the discriminator just updated, carrying those differences forward
    # (measured on an AMD EPYC: 0.5% of its weights beyond float precision, 0.02% by over a tenth of the learning
    # rate). Unsynchronized batch norm, or noise drawn apart from one device's, moves most weights by about the
    # learning rate and fails both bounds by far.
    differs = ~np.isclose(one, two, rtol=1e-4, atol=1e-5)
    gap = np.abs(one - two)
    far = gap > LEARNING_RATE / 10
    assert differs.mean() < 1e-2 and far.mean() < 1e-3, (
        f"{differs.sum()} of {differs.size} weights differ (largest {gap.max():.2e}, {far.sum()} by over a tenth "
        "of the learning rate)")
    # The logged metrics are the whole global batch's and the whole validation split's, gathered over the workers
    # (one worker's half alone differs by far more than this).
    logged = [json.loads((tmp_path / run / "checkpoint.json").read_text())["history"][0] for run in ("single", "workers")]
    assert set(logged[0]) == set(logged[1])
    for name in logged[0]:
        assert logged[1][name] == pytest.approx(logged[0][name], rel=1e-3, abs=1e-4), name


def flag_error(tf_config_text, strategy="multi_worker"):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TF_CONFIG", None)
    if tf_config_text is not None:
        env["TF_CONFIG"] = tf_config_text
    return subprocess.run([sys.executable, "-m", "recipes.vae_mnist", "--strategy", strategy], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("text, message", [
    (None, "--strategy multi_worker needs the environment variable TF_CONFIG"),
    ('{"cluster": {"worker": ["127.0.0.1:1"]', "TF_CONFIG is not valid JSON"),
    ('{"cluster": {"worker": ["127.0.0.1:12345"]}}', 'TF_CONFIG needs a "task"'),
    ('{"cluster": {"worker": ["127.0.0.1:12345"]}, "task": {"type": "worker", "index": 3}}',
     "TF_CONFIG's task index must be in 0..0"),
    ('{"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", "index": 0}}',
     'cluster.worker[0] must be "host:port"'),
    ('{"cluster": {"ps": ["127.0.0.1:12345"]}, "task": {"type": "ps", "index": 0}}', "may list \"chief\""),
])
def test_a_bad_tf_config_is_one_line_and_exit_2(text, message):
    result = flag_error(text)
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_a_port_in_use_is_named_before_tensorflow_starts():
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = flag_error(json.dumps({"cluster": {"worker": [f"127.0.0.1:{port}", "127.0.0.1:1"]},
                                        "task": {"type": "worker", "index": 0}}))
    assert result.returncode == 2
    assert f"127.0.0.1:{port}, whose port another process is using" in result.stderr
    assert result.stderr.count("\n") == 1


def epochs_done(run_dir):
    try:
        return json.loads((run_dir / "checkpoint.json").read_text())["epochs_done"]
    except (OSError, ValueError):
        return 0


def test_a_killed_worker_loses_at_most_its_epoch_and_the_run_resumes(mnist_dir, tmp_path):
    run_dir = tmp_path / "run"
    args = ["-m", "recipes.vae_mnist", "--data-dir", mnist_dir, "--strategy", "multi_worker", "--train-limit", "6000",
            "--batch-size", "100", "--hidden-units", "32", "--latent-dim", "2", "--epochs", "4", "--eval-samples", "2",
            "--run-dir", str(run_dir), "--export-dir", ""]
    workers = start_workers(args)
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    while epochs_done(run_dir) < 1 and time.monotonic() < deadline and workers[0].poll() is None:
        time.sleep(0.05)
    assert epochs_done(run_dir) == 1, "the run should have checkpointed its first epoch and no more"
    time.sleep(0.5)  # into epoch 2
    workers[1].send_signal(signal.SIGKILL)
    workers[1].communicate()
    _, err = workers[0].communicate(timeout=WORKER_TIMEOUT_S)  # the chief notices, and ends with one line
    assert workers[0].returncode == 1, err[-3000:]
    assert "restart every worker with the same command to resume" in err.strip().splitlines()[-1]
    kept = epochs_done(run_dir)
    assert kept in (1, 2)
    restarted = start_workers(args)
    outputs = [worker.communicate(timeout=WORKER_TIMEOUT_S) for worker in restarted]
    for worker, (_, err) in zip(restarted, outputs):
        assert worker.returncode == 0, err[-3000:]
    assert f"resuming {run_dir} after epoch {kept} of 4" in outputs[0][0]
    history = json.loads((run_dir / "checkpoint.json").read_text())["history"]
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]  # no epoch repeated or lost
    losses = [row["val_loss"] for row in history]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]


def test_autorec_recipe_on_two_workers_matches_one_device(movielens_dir, tmp_path):
    """A recipe with its own flags (zoo.cli.run_distributed), trained by `train_arrays`: AutoRec both ways and
    biased MF, on two workers and on one device, end at the same RMSEs; only the chief writes the results."""
    common = ["-m", "recipes.autorec_movielens", "--data-dir", movielens_dir, "--splits", "1", "--epochs", "2",
              "--hidden-units", "16", "--autorec-l2", "0.1", "--autorec-input-dropout", "0.5", "--mf-l2", "0.1",
              "--mf-epochs", "1", "--bias-regularization", "5"]
    single = run_python([*common, "--strategy", "one", "--out-dir", str(tmp_path / "single")])
    assert single.returncode == 0, single.stderr[-3000:]
    results = run_workers([*common, "--strategy", "multi_worker", "--out-dir", str(tmp_path / "workers")])
    for code, _, err in results:
        assert code == 0, err[-3000:]
    one = json.loads((tmp_path / "single" / "results.json").read_text())["results"]
    two = json.loads((tmp_path / "workers" / "results.json").read_text())["results"]
    assert set(one) == set(two) and "0/i_autorec/0.1,0.5" in two
    for key in one:
        for split in ("validation", "test"):
            assert abs(one[key][split] - two[key][split]) < 2e-3, (key, split, one[key][split], two[key][split])
    assert "| i_autorec |" in results[1][1]  # the other worker ran the whole recipe too, in a directory of its own
