"""Smoke tests every registered model gets for free."""

import numpy as np
import pytest
import tensorflow as tf

import zoo


@pytest.fixture(scope="module")
def images():
    return (np.random.default_rng(0).random((32, 28, 28, 1)) < 0.2).astype(np.float32)


@pytest.mark.parametrize("name", zoo.names())
def test_fit_moves_weights_and_reports_every_loss(name, images):
    model = zoo.get(name)
    assert model.built
    model.compile(optimizer="adam")
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(images, epochs=1, batch_size=16, verbose=0)
    assert set(history.history) == set(model.loss_names)
    assert all(np.isfinite(v[0]) for v in history.history.values())
    assert all(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))


@pytest.mark.parametrize("name", zoo.names())
def test_keras_round_trip_gives_identical_outputs(name, images, tmp_path):
    model = zoo.get(name, seed=3)
    model.save(tmp_path / "model.keras")
    loaded = zoo.load(tmp_path / "model.keras")
    np.testing.assert_array_equal(loaded(tf.constant(images)).numpy(), model(tf.constant(images)).numpy())


RECONSTRUCT = """
import sys
import numpy as np
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
np.save(sys.argv[3], loaded.reconstruct(tf.constant(np.load(sys.argv[2])))["probs"].numpy())
"""


@pytest.mark.parametrize("name", zoo.names())
def test_export_reloads_in_plain_tensorflow_with_the_same_outputs(name, images, tmp_path):
    from tests.conftest import run_python
    from zoo import export

    model = zoo.get(name, seed=3)
    export.export(model, tmp_path / "artifact", {"model": name})
    np.save(tmp_path / "images.npy", images)
    (tmp_path / "reconstruct.py").write_text(RECONSTRUCT)
    result = run_python([str(tmp_path / "reconstruct.py"), str(tmp_path / "artifact"), str(tmp_path / "images.npy"),
                         str(tmp_path / "out.npy")])
    assert result.returncode == 0, result.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), model(tf.constant(images)).numpy(), atol=1e-6)
