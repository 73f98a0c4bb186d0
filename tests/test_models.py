"""Smoke tests every registered model gets for free."""

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import registry

IMAGE_MODELS = [name for name in zoo.names() if registry.get_class(name).data_kind == "images"]


@pytest.fixture(scope="module")
def images():
    return (np.random.default_rng(0).random((32, 28, 28, 1)) < 0.2).astype(np.float32)


def labels_for(images):
    return np.arange(len(images), dtype=np.int32) % 10


def training_data(model, images):
    """What `fit` takes: images, or (images, labels) for the classifier and conditional models."""
    if hasattr(model, "classify") or getattr(model, "conditional", False):
        return images, labels_for(images)
    return images, None


def call_input(model, images):
    """What the model's `call` takes: codes for a generator, (images, labels) for conditional models, else images."""
    if getattr(model, "conditional", False):
        return tf.constant(images), tf.constant(labels_for(images))
    if hasattr(model, "generate"):
        return tf.constant(np.random.default_rng(1).normal(size=(len(images), model.latent_dim)), tf.float32)
    return tf.constant(images)


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_fit_moves_weights_and_reports_every_loss(name, images):
    model = zoo.get(name)
    assert model.built
    model.compile(**model.training_optimizers(1e-3))
    before = [w.numpy().copy() for w in model.trainable_weights]
    x, y = training_data(model, images)
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert set(history.history) == set(model.loss_names)
    assert all(np.isfinite(v[0]) for v in history.history.values())
    assert all(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_keras_round_trip_gives_identical_outputs(name, images, tmp_path):
    model = zoo.get(name, seed=3)
    model.save(tmp_path / "model.keras")
    loaded = zoo.load(tmp_path / "model.keras")
    inputs = call_input(model, images)
    np.testing.assert_array_equal(loaded(inputs).numpy(), model(inputs).numpy())


CALL_ENDPOINT = """
import sys
import numpy as np
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
inputs = np.load(sys.argv[3], allow_pickle=True)
arguments = [tf.constant(inputs)] if inputs.dtype != object else [tf.constant(a) for a in inputs]
outputs = getattr(loaded, sys.argv[2])(*arguments)
np.save(sys.argv[4], outputs[sys.argv[5]].numpy())
"""


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_export_reloads_in_plain_tensorflow_with_the_same_outputs(name, images, tmp_path):
    from tests.conftest import run_python
    from zoo import export

    model = zoo.get(name, seed=3)
    export.export(model, tmp_path / "artifact", {"model": name})
    inputs = call_input(model, images)
    if hasattr(model, "classify"):
        endpoint, key, expected = "classify", "probs", model.classify(inputs)["probs"]
    elif hasattr(model, "generate"):
        endpoint, key, expected = "generate", "images", model.generate(inputs)
    else:
        endpoint, key, expected = "reconstruct", "probs", model(inputs)
    if isinstance(inputs, tuple):
        saved = np.empty(len(inputs), dtype=object)
        saved[:] = [t.numpy() for t in inputs]
    else:
        saved = inputs.numpy()
    np.save(tmp_path / "inputs.npy", saved, allow_pickle=True)
    (tmp_path / "call.py").write_text(CALL_ENDPOINT)
    result = run_python([str(tmp_path / "call.py"), str(tmp_path / "artifact"), endpoint, str(tmp_path / "inputs.npy"),
                         str(tmp_path / "out.npy"), key])
    assert result.returncode == 0, result.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected.numpy(), atol=1e-6)
