"""Smoke tests every registered model gets for free: it trains, round-trips through .keras, and exports what
its class declares (ENDPOINTS), which a process importing only TensorFlow loads and calls with the same
outputs."""

import json

import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.conftest import run_python
from zoo import export, registry

IMAGE_MODELS = [name for name in zoo.names() if registry.get_class(name).data_kind == "images"]


@pytest.fixture(scope="module")
def images():
    return (np.random.default_rng(0).random((32, 28, 28, 1)) < 0.2).astype(np.float32)


def labels_for(images):
    return np.arange(len(images), dtype=np.int32) % 10


def training_data(model, images):
    """What `fit` takes: images, or (images, labels) for models whose input includes the label."""
    return (images, labels_for(images)) if model.takes_labels else (images, None)


def call_input(model, images):
    """What the model's `call` takes: codes for a generator, (images, labels) for conditional models, else images."""
    if model.takes_labels and "encode" in model.ENDPOINTS:
        return tf.constant(images), tf.constant(labels_for(images))
    if "generate" in model.ENDPOINTS:
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


def example_input(spec, rng, rows=6):
    """A valid value for an endpoint input, by the input's name (the contract's names, zoo.signatures)."""
    shape = [rows if dim is None else dim for dim in spec.shape]
    by_name = {
        "images": lambda: (rng.random(shape) < 0.3).astype(np.float32),
        "code": lambda: rng.normal(size=shape).astype(np.float32),
        "digits": lambda: np.arange(rows, dtype=np.int32) % 10,
        "ratings": lambda: np.where(rng.random(shape) < 0.1, rng.integers(1, 6, shape), 0).astype(np.float32),
        "num": lambda: np.int32(4), "seed": lambda: np.int32(9), "digit": lambda: np.int32(7),
    }
    return by_name[spec.name]()


CALL_ENDPOINTS = """
import json, sys
import numpy as np
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
plan = json.load(open(sys.argv[2]))
inputs = np.load(sys.argv[3])
outputs = {}
for endpoint, names in plan.items():
    result = getattr(loaded, endpoint)(*[tf.constant(inputs[f"{endpoint}/{n}"]) for n in names])
    outputs.update({f"{endpoint}/{key}": value.numpy() for key, value in result.items()})
np.savez(sys.argv[4], **outputs)
report = {"signatures": sorted(loaded.signatures),
          "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("zoo", "tensorflow_probability"))}
json.dump(report, open(sys.argv[5], "w"))
"""


@pytest.mark.parametrize("name", zoo.names())
def test_every_model_exports_what_it_declares_and_loads_in_plain_tensorflow(name, tmp_path):
    model = zoo.get(name, seed=3)
    declared = model.ENDPOINTS
    assert declared and model.serving_endpoint in declared
    export.export(model, tmp_path / "artifact", {"model": name})
    rng = np.random.default_rng(0)
    plan, inputs, expected = {}, {}, {}
    for endpoint_name, endpoint in model.endpoints().items():
        values = [example_input(spec, rng) for spec in endpoint.inputs]
        plan[endpoint_name] = [spec.name for spec in endpoint.inputs]
        inputs.update({f"{endpoint_name}/{spec.name}": value for spec, value in zip(endpoint.inputs, values)})
        outputs = endpoint.function(*[tf.constant(value) for value in values])
        expected.update({f"{endpoint_name}/{key}": value.numpy() for key, value in outputs.items()})
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    np.savez(tmp_path / "inputs.npz", **inputs)
    (tmp_path / "call.py").write_text(CALL_ENDPOINTS)
    result = run_python([str(tmp_path / "call.py"), str(tmp_path / "artifact"), str(tmp_path / "plan.json"),
                         str(tmp_path / "inputs.npz"), str(tmp_path / "out.npz"), str(tmp_path / "report.json")])
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["signatures"] == sorted({*declared, "serving_default"})
    assert report["modules"] == []
    out = np.load(tmp_path / "out.npz")
    assert sorted(out.files) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(out[key], value, atol=1e-5, err_msg=key)


def test_export_refuses_a_model_whose_endpoints_differ_from_its_declaration():
    model = zoo.get("ae", latent_dim=4, hidden_units=(8,))
    model.ENDPOINTS = ("encode", "decode", "reconstruct")  # declares less than it builds (no score)
    with pytest.raises(ValueError, match="declares the endpoints .* but builds"):
        export.build_archive(model)
