"""Smoke tests every registered model gets for free: it trains, round-trips through .keras, and exports what
its class declares (ENDPOINTS), which a process importing only TensorFlow loads and calls with the same
outputs."""

import json

import keras
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
for artifact, plan_file, inputs_file, out_file, report_file in json.load(open(sys.argv[1])):
    loaded = tf.saved_model.load(artifact)
    plan = json.load(open(plan_file))
    inputs = np.load(inputs_file)
    outputs = {}
    for endpoint, names in plan.items():
        result = getattr(loaded, endpoint)(*[tf.constant(inputs[f"{endpoint}/{n}"]) for n in names])
        outputs.update({f"{endpoint}/{key}": value.numpy() for key, value in result.items()})
    np.savez(out_file, **outputs)
    json.dump({"signatures": sorted(loaded.signatures)}, open(report_file, "w"))
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("zoo", "tensorflow_probability"))))
"""


@pytest.fixture(scope="module")
def exported_every_model(tmp_path_factory):
    """name -> (declared endpoints, expected outputs, its directory): every registered model exported, and its
    endpoints called in one plain-TF process (one for all: each would mostly import TensorFlow)."""
    exported, jobs = {}, []
    for name in zoo.names():
        directory = tmp_path_factory.mktemp(name)
        model = zoo.get(name, seed=3)
        assert model.ENDPOINTS and model.serving_endpoint in model.ENDPOINTS
        export.export(model, directory / "artifact", {"model": name})
        rng = np.random.default_rng(0)
        plan, inputs, expected = {}, {}, {}
        for endpoint_name, endpoint in model.endpoints().items():
            values = [example_input(spec, rng) for spec in endpoint.inputs]
            plan[endpoint_name] = [spec.name for spec in endpoint.inputs]
            inputs.update({f"{endpoint_name}/{spec.name}": value for spec, value in zip(endpoint.inputs, values)})
            outputs = endpoint.function(*[tf.constant(value) for value in values])
            expected.update({f"{endpoint_name}/{key}": value.numpy() for key, value in outputs.items()})
        (directory / "plan.json").write_text(json.dumps(plan))
        np.savez(directory / "inputs.npz", **inputs)
        jobs.append([str(directory / f) for f in ("artifact", "plan.json", "inputs.npz", "out.npz", "report.json")])
        exported[name] = (model.ENDPOINTS, expected, directory)
    (tmp_path_factory.getbasetemp() / "jobs.json").write_text(json.dumps(jobs))
    result = run_python(["-c", CALL_ENDPOINTS, str(tmp_path_factory.getbasetemp() / "jobs.json")])
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []  # no zoo, no TFP: plain TensorFlow
    return exported


@pytest.mark.parametrize("name", zoo.names())
def test_every_model_exports_what_it_declares_and_loads_in_plain_tensorflow(name, exported_every_model):
    declared, expected, directory = exported_every_model[name]
    report = json.loads((directory / "report.json").read_text())
    assert report["signatures"] == sorted({*declared, "serving_default"})
    out = np.load(directory / "out.npz")
    assert sorted(out.files) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(out[key], value, atol=1e-5, err_msg=key)


def test_export_refuses_a_model_whose_endpoints_differ_from_its_declaration():
    model = zoo.get("ae", latent_dim=4, hidden_units=(8,))
    model.ENDPOINTS = ("encode", "decode", "reconstruct")  # declares less than it builds (no score)
    with pytest.raises(ValueError, match="declares the endpoints .* but builds"):
        export.build_archive(model)


DREG_MODELS = {"vae": {}, "two_layer_vae": {"bottom_latent_dim": 6, "top_hidden_units": (16,)}}


@pytest.mark.parametrize("model_name", DREG_MODELS)
def test_dreg_gradient_is_unbiased_with_less_variance_and_leaves_the_decoder_alone(mnist_small, model_name):
    """On a briefly trained VAE, over many noise draws, the DReG encoder gradient has the pathwise gradient's mean and
    a smaller spread; for the same draw, the decoder's gradient and the loss are the pathwise estimator's. With two
    stochastic layers the encoder's gradient also runs through z1 into q(z2 | z1), whose weights DReG holds."""
    from zoo import training

    keras.utils.set_random_seed(0)  # the trained model (and so the variance ratio) must not depend on earlier tests
    settings = dict(latent_dim=4, hidden_units=(32,), importance_samples=10, seed=3, **DREG_MODELS[model_name])
    trained = zoo.get(model_name, **settings)
    training.train_arrays(trained, mnist_small.fixed_training_images(3000), epochs=5, learning_rate=3e-3)
    images = tf.constant(mnist_small.test_images[:8])

    def gradient_draw(model):
        """A function drawing (loss, the encoder's gradient as one vector, the decoder's gradients) afresh."""
        decoders = [model.decoder] + ([model.top_decoder] if model_name == "two_layer_vae" else [])
        decoder = [v for net in decoders for v in net.trainable_variables]
        encoder = [v for v in model.trainable_variables if all(v is not d for d in decoder)]

        @tf.function  # 240 draws: in graph mode, not eagerly, for speed
        def gradients():
            with tf.GradientTape() as tape:
                loss = model.compute_losses(images, training=True)["loss"]
            return loss, tape.gradient(loss, encoder + decoder)

        def draw():
            loss, grads = gradients()
            return (float(loss), np.concatenate([g.numpy().ravel() for g in grads[:len(encoder)]]),
                    [g.numpy() for g in grads[len(encoder):]])

        return draw

    models = {name: zoo.get(model_name, **settings, gradient_estimator=name) for name in ("reparameterization", "dreg")}
    for model in models.values():
        model.set_weights(trained.get_weights())
    draw = {name: gradient_draw(model) for name, model in models.items()}
    draws = {name: [] for name in models}
    for _ in range(120):
        (loss_a, enc_a, dec_a), (loss_b, enc_b, dec_b) = (draw[name]() for name in models)
        assert loss_a == pytest.approx(loss_b, rel=1e-5)
        for a, b in zip(dec_a, dec_b):
            np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
        draws["reparameterization"].append(enc_a)
        draws["dreg"].append(enc_b)
    path, dreg = np.array(draws["reparameterization"]), np.array(draws["dreg"])
    standard_error = np.sqrt(path.var(0) / len(path) + dreg.var(0) / len(dreg))
    assert np.mean(np.abs(path.mean(0) - dreg.mean(0)) / (standard_error + 1e-12)) < 1.5  # same expectation
    assert dreg.var(0).sum() < 0.7 * path.var(0).sum()  # less variance (about 0.43 x measured)
    with pytest.raises(ValueError, match="the dreg gradient is of the .*bound, which beta != 1 is not; received beta=2"):
        zoo.get("vae", beta=2.0, gradient_estimator="dreg")
