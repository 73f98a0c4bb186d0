"""The Ladder network (Rasmus et al., 2015): its combinator, its two encoder passes, its objective, learning on real
MNIST, and its round trips through .keras and an exported SavedModel."""

import json

import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.conftest import run_python
from zoo import data, export, training
from zoo.models.ladder import vanilla_combinator

SMALL = dict(hidden_units=(64, 32), denoising_weights=(1000.0, 10.0, 0.1, 0.1))


def binary_images(count, seed=0, shape=(28, 28, 1)):
    return (np.random.default_rng(seed).random((count, *shape)) < 0.2).astype(np.float32)


@pytest.fixture(scope="module")
def mnist_train(mnist_dir):
    images, labels = data.mnist_grayscale(mnist_dir)["train"]
    return images[:3000], labels[:3000].astype(np.int32)


def test_the_combinator_is_the_papers_formula():
    rng = np.random.default_rng(0)
    z, u, a = rng.normal(size=(5, 7)), rng.normal(size=(5, 7)), rng.normal(size=(10, 7))
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    mu = a[0] * sigmoid(a[1] * u + a[2]) + a[3] * u + a[4]
    v = a[5] * sigmoid(a[6] * u + a[7]) + a[8] * u + a[9]
    np.testing.assert_allclose(vanilla_combinator(z, u, a), (z - mu) * v + mu, rtol=1e-12)


def test_with_v_one_the_combinator_gives_back_a_noise_free_lateral_input():
    z = np.random.default_rng(1).normal(size=(4, 6)).astype(np.float32)
    u = np.random.default_rng(2).normal(size=(4, 6)).astype(np.float32)
    a = np.random.default_rng(3).normal(size=(10, 6)).astype(np.float32)
    a[5] = a[8] = 0.0  # v(u) = a10
    a[9] = 1.0
    np.testing.assert_allclose(vanilla_combinator(z, u, a), z, atol=1e-6)
    # The reference's start (a2 = a7 = 1, the rest 0) estimates 0 whatever it is given.
    start = zoo.get("ladder", **SMALL).combinators[0].numpy()[:, :6]
    np.testing.assert_array_equal(vanilla_combinator(z, u, start), np.zeros_like(z))


def test_shapes_and_metrics():
    model = zoo.get("ladder")
    assert model.widths == (784, 1000, 500, 250, 250, 250, 10)
    images = tf.constant(binary_images(6))
    outputs = model.classify(images)
    assert outputs["probs"].shape == (6, 10) and outputs["features"].shape == (6, 250)
    np.testing.assert_allclose(outputs["probs"].numpy().sum(-1), 1, atol=1e-5)
    assert model(images).shape == (6, 10)
    assert set(model.losses_of((images, images, tf.range(6) % 10), training=True)) == set(model.loss_names)
    assert zoo.get("ladder", **SMALL).loss_names == ("loss", "cross_entropy", "accuracy", "denoise_0", "denoise_1",
                                                     "denoise_2", "denoise_3")


def test_the_loss_is_the_cross_entropy_plus_the_weighted_denoising_costs():
    model = zoo.get("ladder", **SMALL)
    images = tf.constant(binary_images(16))
    losses = model.losses_of((images[:8], images[8:], tf.range(8) % 10), training=True)
    weighted = sum(w * float(losses[f"denoise_{l}"]) for l, w in enumerate(model.denoising_weights))
    assert float(losses["loss"]) == pytest.approx(float(losses["cross_entropy"]) + weighted, rel=1e-5)
    assert all(np.isfinite(float(value)) for value in losses.values())


def test_the_corrupted_pass_differs_from_the_clean_one_which_is_deterministic():
    model = zoo.get("ladder", **SMALL)
    images = tf.constant(binary_images(16))
    for training_mode in (True, False):
        clean, _, _, clean_logits = model.encode(images, training=training_mode)
        again, _, _, again_logits = model.encode(images, training=training_mode)
        corrupted, _, _, corrupted_logits = model.encode(images, model.noise_std, training=training_mode)
        np.testing.assert_array_equal(clean_logits, again_logits)
        for z, z_again, z_noisy in zip(clean, again, corrupted):
            np.testing.assert_array_equal(z, z_again)
            # Noise of std 0.3 at every layer, the input included.
            assert np.std(z_noisy.numpy() - z.numpy()) > 0.2
        assert not np.allclose(clean_logits, corrupted_logits)


def test_training_moves_the_running_statistics_that_classify_uses():
    model = zoo.get("ladder", **SMALL)
    images = binary_images(64)
    labels = np.arange(64, dtype=np.int32) % 10
    # A learning rate of 0: the statistics move, the weights do not.
    training.train_arrays(model, (images, images[::-1], labels[::-1]), epochs=1, batch_size=32, learning_rate=0.0)
    assert float(model.statistics_steps) == 2
    # The first steps average their batches' statistics: here those of the two halves of the unlabelled rows.
    pre = model.encoder_layers[0](tf.reshape(images, [64, -1])).numpy()
    np.testing.assert_allclose(model.running_means[0], pre.mean(0), atol=1e-5)
    np.testing.assert_allclose(model.running_variances[0], pre.var(0), rtol=0.2)
    # Outside training a row's class does not depend on the other rows of its batch.
    np.testing.assert_allclose(model.classify(tf.constant(images[:3]))["probs"],
                               model.classify(tf.constant(images))["probs"][:3], atol=1e-6)


def test_the_loss_falls_on_real_mnist_with_100_labels(mnist_train):
    images, labels = mnist_train
    labelled = np.concatenate([np.flatnonzero(labels == c)[:10] for c in range(10)])
    paired = np.resize(labelled, 1000)
    model = zoo.get("ladder", **SMALL)
    history = training.train_arrays(model, (images[:1000], images[paired], labels[paired]), epochs=5, batch_size=100,
                                    learning_rate=2e-3)  # 50 steps
    losses = history.history["loss"]
    assert all(np.isfinite(losses)) and losses[-1] < 0.7 * losses[0]
    assert history.history["denoise_0"][-1] < history.history["denoise_0"][0]
    accuracy = np.mean(model.classify(tf.constant(images[2000:]))["probs"].numpy().argmax(-1) == labels[2000:])
    assert accuracy > 0.5  # held-out training images, after 50 steps


@pytest.mark.parametrize("bad, message", [
    (dict(noise_std=-0.1), "noise_std must be >= 0; received noise_std=-0.1"),
    (dict(hidden_units=()), "hidden_units must be one or more positive widths"),
    (dict(hidden_units=(10, 0)), "hidden_units must be one or more positive widths"),
    (dict(denoising_weights=(1.0, 2.0)), "denoising_weights must give a weight >= 0 to each of the 7 layers"),
    (dict(denoising_weights=(1000, 10, 0.1, 0.1, 0.1, 0.1, -0.1)), "denoising_weights must give a weight >= 0"),
    (dict(num_classes=1), "num_classes must be an integer >= 2"),
    (dict(momentum=1.0), r"momentum must be in \[0, 1\)"),
])
def test_bad_hyperparameters_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        zoo.get("ladder", **bad)


def test_config_and_keras_round_trip(tmp_path):
    model = zoo.get("ladder", noise_std=0.2, momentum=0.9, seed=4, **SMALL)
    images = binary_images(32)
    training.train_arrays(model, (images, np.arange(32, dtype=np.int32) % 10), epochs=1, batch_size=16)
    config = model.constructor_config()
    assert config["noise_std"] == 0.2 and config["hidden_units"] == [64, 32]
    assert zoo.get("ladder", **config).constructor_config() == config
    model.save(tmp_path / "ladder.keras")
    loaded = zoo.load(tmp_path / "ladder.keras")
    assert loaded.constructor_config() == config
    for name in ("probs", "features"):
        np.testing.assert_array_equal(loaded.classify(tf.constant(images))[name], model.classify(tf.constant(images))[name])


def test_the_export_classifies_in_plain_tensorflow(tmp_path):
    model = zoo.get("ladder", **SMALL)
    images = binary_images(8)
    training.train_arrays(model, (images, np.arange(8, dtype=np.int32) % 10), epochs=1, batch_size=8)
    export.export(model, tmp_path / "ladder", {"model": "ladder"})
    np.save(tmp_path / "images.npy", images)
    result = run_python(["-c", """
import json, sys
import numpy as np
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
out = loaded.classify(tf.constant(np.load(sys.argv[2])))
print(json.dumps({"probs": out["probs"].numpy().tolist(), "features": list(out["features"].shape),
                  "signatures": sorted(loaded.signatures),
                  "modules": sorted(m for m in sys.modules if m.split(".")[0] == "zoo")}))
""", str(tmp_path / "ladder"), str(tmp_path / "images.npy")])
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["modules"] == [] and report["signatures"] == ["classify", "serving_default"]
    assert report["features"] == [8, 32]
    probs = np.array(report["probs"])
    np.testing.assert_allclose(probs.sum(-1), 1, atol=1e-5)
    np.testing.assert_allclose(probs, model.classify(tf.constant(images))["probs"], atol=1e-5)
