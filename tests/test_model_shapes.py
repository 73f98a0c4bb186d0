"""The models on data other than MNIST: any input shape (images [H, W, C], rows [d] of a table), the VAE's Gaussian
likelihoods for real values, and inputs standardized inside the model, with endpoints that take and give raw units."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.conftest import ROOT
from zoo import config, export, registry, signatures
from zoo.metrics import per_image_log_likelihood
from zoo.models.base import Autoencoder
from zoo.signatures import contract_checked

IMAGE_MODELS = [name for name in zoo.names() if registry.get_class(name).data_kind == "images"]
AUTOENCODERS = [name for name in IMAGE_MODELS if issubclass(registry.get_class(name), Autoencoder)]
CASES = [(name, shape) for shape in ((8, 8, 1), (32, 32, 3)) for name in IMAGE_MODELS]
CASES += [(name, (30,)) for name in AUTOENCODERS]


def example_input(spec, rng, rows=4):
    """A valid value for an endpoint input, by the input's name (the contract's names, zoo.signatures)."""
    shape = [rows if dim is None else dim for dim in spec.shape]
    by_name = {
        "images": lambda: (rng.random(shape) < 0.3).astype(np.float32),
        "rows": lambda: (rng.random(shape) < 0.3).astype(np.float32),
        "code": lambda: rng.normal(size=shape).astype(np.float32),
        "digits": lambda: np.arange(rows, dtype=np.int32) % 10,
        "num": lambda: np.int32(rows), "seed": lambda: np.int32(9), "digit": lambda: np.int32(7),
    }
    return tf.constant(by_name[spec.name]())


@pytest.mark.parametrize("name, shape", CASES, ids=[f"{name}-{'x'.join(map(str, shape))}" for name, shape in CASES])
def test_every_model_trains_a_step_and_serves_at_other_shapes(name, shape):
    """Construct, a training step through compile + fit (eagerly: tracing 37 models would take minutes), and every
    endpoint of the archive zoo.export builds called as exported (with the contract's checks)."""
    model = zoo.get(name, image_shape=shape, seed=1)
    rng = np.random.default_rng(0)
    inputs = (rng.random((8, *shape)) < 0.3).astype(np.float32)
    labels = np.arange(8, dtype=np.int32) % 10
    model.compile(**model.training_optimizers(1e-3), run_eagerly=True)
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(inputs, labels if model.takes_labels else None, batch_size=4, epochs=1, verbose=0)
    assert set(history.history) == set(model.loss_names)
    assert all(np.isfinite(values[0]) for values in history.history.values())
    assert all(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))

    export.build_archive(model)  # the declared endpoints, with distinct named inputs
    for endpoint_name, endpoint in export.checked_endpoints(model).items():
        assert {spec.name for spec in endpoint.inputs} & {"images", "rows"} <= {model.input_name}
        outputs = contract_checked(endpoint.function, endpoint.inputs)(*[example_input(spec, rng)
                                                                         for spec in endpoint.inputs])
        for key, value in outputs.items():
            assert value.shape[0] == 4 and np.isfinite(value.numpy()).all(), (endpoint_name, key)
        for key in ("probs", "restored", "images", "rows"):
            if key in outputs and endpoint_name != "classify":
                assert outputs[key].shape == (4, *shape), (endpoint_name, key)
    assert model.input_name == ("rows" if len(shape) == 1 else "images")


def called(endpoint, images, rng):
    """{output: numpy} of an endpoint called as exported, with `images` for its images and examples for the rest."""
    inputs = [images if spec.name == "images" else example_input(spec, rng, len(images)) for spec in endpoint.inputs]
    return {key: value.numpy() for key, value in contract_checked(endpoint.function, endpoint.inputs)(*inputs).items()}


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_a_model_made_to_resize_takes_images_of_any_size_as_it_takes_them_resized(name):
    """With resize_inputs, every endpoint that takes images takes them at any height and width (the channels fixed):
    the answer at the model's own size is the one without resize_inputs, and at another size the one on the image
    resized as the data sources resize (zoo.signatures.resized_images)."""
    shape, rng = (8, 12, 3), np.random.default_rng(0)
    plain = zoo.get(name, image_shape=shape, seed=1)
    model = zoo.get(name, image_shape=shape, seed=1, resize_inputs=True)
    model.set_weights(plain.get_weights())
    assert type(model).from_config(model.get_config()).resize_inputs and "resize_inputs" not in plain.get_config()
    own = tf.constant(rng.random((3, *shape)), tf.float32)
    larger = tf.constant(rng.random((3, 21, 13, 3)), tf.float32)
    resized = signatures.resized_images(larger, shape[:2])
    plain_endpoints, endpoints = export.checked_endpoints(plain), export.checked_endpoints(model)
    taking_images = [name for name, endpoint in endpoints.items() if "images" in {s.name for s in endpoint.inputs}]
    for endpoint_name in taking_images:
        endpoint = endpoints[endpoint_name]
        assert [s.shape.as_list() for s in endpoint.inputs if s.name == "images"] == [[None, None, None, 3]]
        # Each call from the same generator state, so that an endpoint that draws noise draws the same.
        answers = []
        for function, images in ((plain_endpoints[endpoint_name], own), (endpoint, own), (endpoint, larger),
                                 (endpoint, resized)):
            keras.utils.set_random_seed(0)
            answers.append(called(function, images, np.random.default_rng(1)))
        for key in answers[0]:
            np.testing.assert_array_equal(answers[1][key], answers[0][key], err_msg=f"{endpoint_name}.{key}")
            np.testing.assert_allclose(answers[2][key], answers[3][key], rtol=1e-5, atol=1e-6,
                                       err_msg=f"{endpoint_name}.{key}")
        empty = called(endpoint, tf.zeros([0, 5, 7, 3]), rng)
        assert all(value.shape[0] == 0 for value in empty.values()), endpoint_name
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"not compatible with expected shape \[\?,\?,\?,3\]"):
            called(endpoint, tf.zeros([2, 8, 12, 1]), rng)
    assert taking_images or name == "gan"


@pytest.mark.parametrize("name, settings, message", [
    ("vae", dict(arch="conv", image_shape=(30, 30, 3)), "the conv architecture needs image sides divisible by 4; "
     r"received image_shape=\(30, 30, 3\): use sides of 28 or 32 \(--image-size\) or arch mlp"),
    ("ae", dict(arch="conv", image_shape=(30,)), r"the conv architecture needs images \[H, W, C\]; received "
     r"image_shape=\(30,\): rows \[d\] and other shapes need arch mlp"),
    ("cvae", dict(arch="conv", image_shape=(30,)), r"needs images \[H, W, C\]; received image_shape=\(30,\)"),
    ("gan", dict(image_shape=(30,)), r"the GAN needs images \[H, W, C\]; received image_shape=\(30,\)"),
    ("gan", dict(image_shape=(30, 30, 1)), r"the GAN needs image sides divisible by 4; .* use sides of 28 or 32"),
    ("mnist_classifier", dict(image_shape=(30,)), r"needs images \[H, W, C\]; .* need mlp_classifier"),
    ("denoising_ae", dict(corruption="gaussian", noise_level=0.3, image_shape=(30,)),
     r"corruption='gaussian' needs pixels in \[0, 1\], which it clips to .* use corruption='masking'"),
    ("denoising_ae", dict(corruption="mixed", noise_level=0.3, image_shape=(8, 8, 1)),
     "needs pixels in .* of images with sides of at least 12"),
    ("vae", dict(image_shape=(0, 3)), r"image_shape must be the shape of one input.*received image_shape=\(0, 3\)"),
    ("vae", dict(likelihood="normal"), "likelihood must be one of bernoulli, gaussian, gaussian_fixed; received "
     "likelihood='normal'"),
    ("vae", dict(standardize=True), "a Bernoulli likelihood cannot model: use likelihood gaussian or gaussian_fixed"),
    ("ae", dict(standardize=True), "a sigmoid output cannot reconstruct: use output_activation linear"),
    ("gan", dict(standardize=True), "standardize is for the autoencoders; GAN takes its inputs as they are"),
    ("vae", dict(image_shape=(30,), likelihood="gaussian", anomaly_score_name="neg_elbo_per_png_bit"),
     r"sets the likelihood against the PNG length .* received image_shape=\(30,\)"),
    ("cvae", dict(num_classes=0), "num_classes must be a positive integer; received num_classes=0"),
    ("ae", dict(image_shape=(30,), resize_inputs=True), r"resize_inputs is for images \[H, W, C\]; received "
     r"image_shape=\(30,\)"),
])
def test_what_a_model_cannot_take_is_refused_by_name(name, settings, message):
    with pytest.raises(ValueError, match=message):
        zoo.get(name, **settings)


def test_a_conditional_model_refuses_training_labels_outside_its_classes():
    model = zoo.get("cvae", image_shape=(6,), num_classes=3, latent_dim=2, hidden_units=(8,))
    rows = tf.zeros([4, 6])
    assert np.isfinite(model.losses_of((rows, tf.constant([0, 1, 2, 0])))["loss"].numpy())
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels must be in 0..2 \(num_classes=3\)"):
        model.losses_of((rows, tf.constant([0, 1, 3, 0])))
    digits = export.checked_endpoints(model)["reconstruct"].function
    with pytest.raises(tf.errors.InvalidArgumentError, match="digits must be in 0..2"):
        digits(rows, tf.constant([0, 1, 5, 0]))


def correlated_rows(n=1024, d=8, seed=0):
    """Real-valued rows [n, d] of two latent factors and a little noise, far from [0, 1] (mean 50, spread ~10)."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n, 2))
    loadings = rng.normal(size=(2, d)) * 10
    return (50 + factors @ loadings + rng.normal(size=(n, d))).astype(np.float32)


@pytest.fixture(scope="module")
def gaussian_vae():
    """A Gaussian VAE on standardized correlated rows: the model, the rows, and its losses before and after."""
    keras.utils.set_random_seed(0)
    rows = correlated_rows()
    model = zoo.get("vae", image_shape=(8,), likelihood="gaussian", standardize=True, latent_dim=2, hidden_units=(32,))
    batches = tf.data.Dataset.from_tensor_slices(rows).batch(128)
    model.adapt(batches)
    model.compile(**model.training_optimizers(1e-2))
    before = model.evaluate(batches, return_dict=True, verbose=0)
    history = model.fit(batches, epochs=30, shuffle=False, verbose=0)
    return model, rows, before, history.history


def test_a_gaussian_vae_learns_real_valued_rows_and_its_scale(gaussian_vae):
    model, rows, before, history = gaussian_vae
    # Standardized rows cost about 8 * 1.42 nats under a unit Gaussian; two factors explain nearly all of them.
    assert before["loss"] > 10 and history["loss"][-1] < before["loss"] - 8, (before["loss"], history["loss"][-1])
    # From 1 towards the noise left in each feature, which is small in standardized units: 1 / its spread.
    scale, noise = tf.nn.softplus(model.likelihood_raw_scale).numpy() + 1e-3, 1 / rows.std(0)
    assert scale.shape == (8,) and scale.max() < 0.6 and scale.mean() < 0.3, scale
    assert np.argmax(scale) == np.argmax(noise), (scale, noise)
    assert any(v is model.likelihood_raw_scale for v in model.trainable_variables)


def test_the_importance_sampled_likelihood_of_a_gaussian_vae_is_finite_and_above_its_elbo(gaussian_vae):
    model, rows, _, _ = gaussian_vae
    log_px = per_image_log_likelihood(model, rows[:200], 64, batch_size=100, progress=False)
    elbo = per_image_log_likelihood(model, rows[:200], 1, batch_size=100, progress=False)
    assert np.isfinite(log_px).all() and log_px.mean() > elbo.mean()
    losses = model.compute_losses(model.standardized(tf.constant(rows[:200])))
    assert elbo.mean() == pytest.approx(-float(losses["reconstruction"] + losses["kl"]), abs=1.0)


@pytest.mark.parametrize("likelihood", ["gaussian", "gaussian_fixed"])
def test_the_gaussian_likelihoods_are_the_normal_density(likelihood):
    model = zoo.get("vae", image_shape=(5,), likelihood=likelihood, latent_dim=2, hidden_units=(8,), seed=2)
    if likelihood == "gaussian":
        model.likelihood_raw_scale.assign(np.linspace(-1, 1, 5).astype(np.float32))
    codes = tf.constant(np.random.default_rng(1).normal(size=(3, 4, 2)), tf.float32)  # [k, b, latent]
    rows = np.random.default_rng(2).normal(size=(4, 5)).astype(np.float32)
    mean = model.decode(codes).numpy()
    scale = (np.log1p(np.exp(np.linspace(-1, 1, 5))) + 1e-3) if likelihood == "gaussian" else np.ones(5)
    expected = np.sum(-0.5 * ((rows - mean) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi), axis=-1)
    np.testing.assert_allclose(model.log_likelihood(codes, tf.constant(rows)).numpy(), expected, rtol=1e-5)
    outputs = model.decode_outputs(codes[0])
    np.testing.assert_allclose(outputs["stddev"].numpy(), np.broadcast_to(scale, (4, 5)), rtol=1e-6)
    np.testing.assert_array_equal(outputs["mean"].numpy(), mean[0])
    assert [w.name for w in model.weights].count("likelihood_raw_scale") == (likelihood == "gaussian")


def test_standardization_statistics_are_numpys_and_adapt_sees_standardized_batches():
    rows = correlated_rows(n=300)
    rows[:, 3] = 7.25  # a constant feature: scale 1
    labels = np.arange(300) % 10
    model = zoo.get("ae", image_shape=(8,), output_activation="linear", standardize=True, latent_dim=2,
                    hidden_units=(16,))
    model.adapt(tf.data.Dataset.from_tensor_slices((rows, labels)).batch(64))  # (inputs, labels), a short last batch
    data = rows.astype(np.float64)
    np.testing.assert_allclose(model.input_mean.numpy(), data.mean(0), rtol=1e-6)
    expected_scale = np.where(np.arange(8) == 3, 1.0, data.std(0))
    np.testing.assert_allclose(model.input_scale.numpy(), expected_scale, rtol=1e-5)
    # The AE's own adapt (output bias = the mean input) ran on standardized rows: their mean is 0.
    np.testing.assert_allclose(model.output_bias().numpy(), 0.0, atol=1e-5)
    assert not any(v is model.input_mean or v is model.input_scale for v in model.trainable_variables)


@pytest.fixture(scope="module")
def standardizing_models(tmp_path_factory):
    """A Gaussian VAE and a linear AE that standardize, briefly trained on raw rows, and their exported
    SavedModels loaded with tf.saved_model.load."""
    keras.utils.set_random_seed(0)
    rows = correlated_rows(n=512)
    batches = tf.data.Dataset.from_tensor_slices(rows).batch(64)
    models = {"vae": zoo.get("vae", image_shape=(8,), likelihood="gaussian_fixed", standardize=True, latent_dim=2,
                             hidden_units=(16,), seed=4),
              "ae": zoo.get("ae", image_shape=(8,), output_activation="linear", standardize=True, latent_dim=2,
                            hidden_units=(16,), seed=4)}
    loaded = {}
    for name, model in models.items():
        model.adapt(batches)
        model.compile(**model.training_optimizers(1e-2))
        model.fit(batches, epochs=30, shuffle=False, verbose=0)
        directory = export.export(model, tmp_path_factory.mktemp(name) / "artifact", {"model": name})
        loaded[name] = tf.saved_model.load(str(directory)), zoo.load(directory / "model.keras")
    return models, loaded, rows


@pytest.mark.parametrize("name", ["vae", "ae"])
def test_endpoints_take_raw_rows_and_give_raw_units(standardizing_models, name):
    models, loaded, rows = standardizing_models
    model, (saved, keras_file) = models[name], loaded[name]
    raw = tf.constant(rows[:16])
    reconstructed = saved.reconstruct(rows=raw)["probs"].numpy()
    np.testing.assert_allclose(reconstructed, model(raw).numpy(), rtol=1e-5, atol=1e-4)
    # In raw units (mean 50, spread ~10), and closer to the rows than their mean is.
    assert abs(reconstructed.mean() - rows.mean()) < 2
    assert np.mean((reconstructed - rows[:16]) ** 2) < 0.5 * np.mean((rows[:16] - rows.mean(0)) ** 2)
    np.testing.assert_allclose(saved.score(rows=raw)["score"].numpy(),
                               model.anomaly_score(model.standardized(raw)).numpy(), rtol=1e-5, atol=1e-4)
    code = saved.encode(rows=raw)["code"]
    np.testing.assert_allclose(code.numpy(), model.encode(model.standardized(raw)).numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(saved.decode(code=code)["mean"].numpy(), reconstructed, rtol=1e-5, atol=1e-4)
    assert saved.signatures["serving_default"].structured_input_signature[1]["rows"].shape == (None, 8)
    # Raw rows are any finite values; NaN is refused.
    with pytest.raises(tf.errors.InvalidArgumentError, match="rows must be finite"):
        saved.reconstruct(rows=raw * np.nan)
    for mine, theirs in zip(model.get_weights(), keras_file.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    assert keras_file.standardize and keras_file.get_config()["standardize"] is True


def test_a_standardizing_vae_samples_and_decodes_spreads_in_raw_units(standardizing_models):
    models, loaded, rows = standardizing_models
    model, (saved, _) = models["vae"], loaded["vae"]
    samples = saved.sample(num=tf.constant(200), seed=tf.constant(3))["rows"].numpy()
    assert samples.shape == (200, 8) and abs(samples.mean() - rows.mean()) < 3
    stddev = saved.decode(code=tf.zeros([2, 2]))["stddev"].numpy()  # gaussian_fixed: unit scale, in raw units
    np.testing.assert_allclose(stddev, np.broadcast_to(model.input_scale.numpy(), (2, 8)), rtol=1e-6)


def test_bounded_models_check_the_unit_interval_and_real_valued_ones_finiteness():
    images = tf.fill([2, 8, 8, 1], 2.0)
    bernoulli = export.checked_endpoints(zoo.get("vae", image_shape=(8, 8, 1), latent_dim=2, hidden_units=(8,)))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"images must be in \[0, 1\]; found a value above 1"):
        bernoulli["reconstruct"].function(images)
    for name, settings in (("vae", dict(likelihood="gaussian")), ("ae", dict(output_activation="linear"))):
        model = zoo.get(name, image_shape=(8, 8, 1), latent_dim=2, hidden_units=(8,), **settings)
        endpoints = export.checked_endpoints(model)
        assert np.isfinite(endpoints["score"].function(images)["score"].numpy()).all()
        with pytest.raises(tf.errors.InvalidArgumentError, match="images must be finite"):
            endpoints["reconstruct"].function(images * np.inf)


@pytest.mark.parametrize("artifact", ["vae_mnist", "ae_mnist"])
def test_a_committed_artifact_loads_and_reconstructs_as_its_saved_model(artifact):
    """The committed model.keras files lack standardize and likelihood: they load as Bernoulli / sigmoid models on
    [0, 1] images and give what their SavedModel (exported before these arguments existed) gives."""
    directory = ROOT / "saved_models" / artifact
    model = zoo.load(directory / "model.keras")
    assert not model.standardize and getattr(model, "likelihood_name", "bernoulli") == "bernoulli"
    images = (np.random.default_rng(0).random((6, 28, 28, 1)) < 0.25).astype(np.float32)
    images[0] = np.random.default_rng(1).random((28, 28, 1))  # and a grey one
    saved = tf.saved_model.load(str(directory))
    np.testing.assert_allclose(model(tf.constant(images)).numpy(), saved.reconstruct(images=images)["probs"].numpy(),
                               atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"images must be in \[0, 1\]"):
        export.checked_endpoints(model)["reconstruct"].function(tf.constant(images + 1.0))


def test_the_vae_recipe_offers_the_likelihoods():
    from recipes.vae_mnist import VAEMnistConfig
    from zoo import flags

    assert config.LIKELIHOODS == ("bernoulli", "gaussian", "gaussian_fixed")
    parsed = flags.parse(VAEMnistConfig, ["--likelihood", "gaussian"])
    assert flags.model_kwargs(parsed)["likelihood"] == "gaussian"
    assert flags.model_kwargs(VAEMnistConfig())["likelihood"] == "auto"
    assert config.arguments_problem({"arch": "conv", "image_shape": (30,)}, flags.flag_name).endswith("--arch mlp")
