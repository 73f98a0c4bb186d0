import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import zoo
from zoo import metrics
from zoo.metrics import per_image_log_likelihood

tfd = tfp.distributions


def binary_images(n, seed=0):
    return (np.random.default_rng(seed).random((n, 28, 28, 1)) < 0.2).astype(np.float32)


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_shapes(arch):
    model = zoo.get("vae", latent_dim=3, arch=arch, hidden_units=(16,))
    assert model.built
    images = tf.constant(binary_images(4))
    assert model.encode(images).shape == (4, 3)
    outputs = model.encode_outputs(images)
    assert outputs["stddev"].shape == (4, 3) and np.all(outputs["stddev"].numpy() > 0)
    assert model.decode(tf.zeros((4, 3))).shape == (4, 28, 28, 1)
    assert model(images).shape == (4, 28, 28, 1)
    assert model.sample(5, tf.constant([1, 0], tf.int64)).shape == (5, 28, 28, 1)
    losses = model.compute_losses(images)
    assert set(losses) == {"loss", "reconstruction", "kl"}
    np.testing.assert_allclose(losses["loss"], losses["reconstruction"] + losses["kl"], rtol=1e-6)


@pytest.mark.parametrize("bad, message", [
    (dict(latent_dim=0), "latent_dim must be a positive integer; received latent_dim=0"),
    (dict(beta=-1.0), "beta must be >= 0; received beta=-1.0"),
    (dict(importance_samples=0), "importance_samples must be >= 1"),
    (dict(arch="rnn"), "unknown arch 'rnn'; choose from conv, mlp"),
])
def test_bad_config_is_named(bad, message):
    with pytest.raises(ValueError, match=message):
        zoo.get("vae", **bad)


def test_unknown_model_lists_the_names():
    with pytest.raises(ValueError, match="unknown model 'vea'; registered models: .*vae"):
        zoo.get("vea")


def test_loss_falls_on_a_small_subset(mnist_small):
    keras.utils.set_random_seed(0)  # independent of the tests that ran before
    model = zoo.get("vae", latent_dim=8, hidden_units=(128,))
    model.compile(optimizer="adam")
    before = model.evaluate(mnist_small.test.take(5), return_dict=True, verbose=0)
    history = model.fit(mnist_small.train, epochs=3, validation_data=mnist_small.test.take(5), verbose=0)
    assert {"loss", "reconstruction", "kl", "val_loss", "val_reconstruction", "val_kl"} <= set(history.history)
    assert history.history["val_loss"][-1] < before["loss"] - 50


@pytest.fixture(scope="module")
def briefly_trained(mnist_small):
    keras.utils.set_random_seed(0)  # independent of the tests that ran before
    model = zoo.get("vae", latent_dim=8, hidden_units=(128,))
    model.compile(optimizer="adam")
    model.fit(mnist_small.train, epochs=1, verbose=0)
    return model, mnist_small.test_images[:500]


def test_one_sample_estimate_is_the_elbo_of_the_loss(briefly_trained):
    model, images = briefly_trained
    draws = [model.compute_losses(tf.constant(images)) for _ in range(8)]
    elbo = -np.mean([float(losses["reconstruction"]) + float(losses["kl"]) for losses in draws])
    one_sample = np.mean([per_image_log_likelihood(model, images, 1, seed=seed, progress=False).mean()
                          for seed in range(8)])
    # Monte Carlo (one z per image, 8 draws) against the analytic-KL ELBO: equal up to sampling noise;
    # a sign error in log p(z) - log q(z) would move it by twice the KL.
    assert abs(one_sample - elbo) < 1.5


def test_elbo_is_below_the_importance_weighted_bound(briefly_trained):
    model, images = briefly_trained
    bounds = [per_image_log_likelihood(model, images, k, progress=False).mean() for k in (1, 50)]
    assert bounds[0] < bounds[1]


def assert_every_k_is_exact(model, standard_normal_heads, observed_code_size):
    """Makes each head (a Dense layer giving [mean, raw scale] of `size` Gaussians) output N(0, I) and the decoder
    blind to its code, then checks that the importance-sampled estimate is exactly log p(x) for every k."""
    unit_scale = np.log(np.expm1(1.0 - 1e-5))  # softplus(raw) + 1e-5 = 1
    for head, size in standard_normal_heads:
        kernel, _ = head.get_weights()
        head.set_weights([np.zeros_like(kernel), np.concatenate([np.zeros(size), np.full(size, unit_scale)]).astype(np.float32)])
    first = model.decoder.layers[0]
    kernel, bias = first.get_weights()
    first.set_weights([np.zeros_like(kernel), bias])
    images = binary_images(20)
    exact = model.likelihood(tf.zeros((20, observed_code_size))).log_prob(images).numpy()
    for k in (1, 10, 300):
        estimate = per_image_log_likelihood(model, images, k, batch_size=10, progress=False)
        np.testing.assert_allclose(estimate, exact, rtol=1e-4)


def test_estimate_is_exact_when_q_is_the_true_posterior():
    # Decoder blind to z and q(z|x) = p(z): every importance weight equals p(x), so every k must give
    # exactly log p(x); a missing "- log k" would add log k.
    model = zoo.get("vae", latent_dim=4, hidden_units=(16,))
    assert_every_k_is_exact(model, [(model.encoder.layers[-1], 4)], 4)


def test_two_layer_estimate_is_exact_when_q_is_the_true_posterior():
    # p(x | z1) blind to z1, and p(z2), p(z1 | z2), q(z1 | x), q(z2 | z1) all N(0, I): every importance weight is
    # p(x). A term of either layer missing or of the wrong sign would leave the weights varying with the draws.
    model = zoo.get("two_layer_vae", latent_dim=3, bottom_latent_dim=4, hidden_units=(16,), top_hidden_units=(8,))
    heads = [(model.encoder.layers[-1], 4), (model.top_encoder.layers[-1], 3), (model.top_decoder.layers[-2], 4)]
    assert_every_k_is_exact(model, heads, 4)


def test_kl_term_matches_monte_carlo():
    model = zoo.get("vae", latent_dim=4, hidden_units=(16,))
    images = tf.constant(binary_images(3))
    kl = float(model.compute_losses(images)["kl"])
    q, prior = model.posterior(images), model.prior()
    z = q.sample(200000, seed=7)
    monte_carlo = float(tf.reduce_mean(q.log_prob(z) - prior.log_prob(z)))
    assert abs(kl - monte_carlo) < 0.02 + 0.01 * abs(monte_carlo)


def test_importance_weighted_loss_uses_k_samples():
    images = tf.constant(binary_images(8))
    vae = zoo.get("vae", latent_dim=4, hidden_units=(16,), seed=3)
    iwae = zoo.get("vae", latent_dim=4, hidden_units=(16,), seed=3, importance_samples=20)
    iwae.set_weights(vae.get_weights())
    # Same networks: the k=20 bound is tighter (a smaller loss) than the one-sample ELBO.
    assert float(iwae.compute_losses(images)["loss"]) < float(vae.compute_losses(images)["loss"])


def test_keras_round_trip(tmp_path):
    model = zoo.get("vae", latent_dim=5, arch="conv", hidden_units=(32,), beta=2.0, seed=4)
    path = tmp_path / "vae.keras"
    model.save(path)
    loaded = zoo.load(path)
    assert loaded.get_config() == model.get_config()
    images = tf.constant(binary_images(6))
    np.testing.assert_array_equal(loaded(images).numpy(), model(images).numpy())
    np.testing.assert_array_equal(loaded.encode_outputs(images)["stddev"], model.encode_outputs(images)["stddev"])


def test_beta_with_the_importance_weighted_bound_is_refused():
    """beta weighs the ELBO's KL term; the k-sample bound has none, and a beta inside its weights is no standard
    objective."""
    with pytest.raises(ValueError, match="use one or the other; received beta=2.0, importance_samples=3"):
        zoo.get("vae", beta=2.0, importance_samples=3)
    assert zoo.get("vae", beta=1.0, importance_samples=3).importance_samples == 3


def test_sampling_is_deterministic_by_seed():
    model = zoo.get("vae", latent_dim=4, hidden_units=(16,))
    first = model.sample(6, tf.constant([11, 0], tf.int64)).numpy()
    np.testing.assert_array_equal(first, model.sample(6, tf.constant([11, 0], tf.int64)).numpy())
    assert not np.array_equal(first, model.sample(6, tf.constant([12, 0], tf.int64)).numpy())


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_trains_under_mixed_precision(policy):
    import keras

    keras.mixed_precision.set_global_policy(policy)
    try:
        model = zoo.get("vae", latent_dim=4, hidden_units=(16,))
        model.compile(optimizer="adam")
        history = model.fit(binary_images(32), epochs=2, batch_size=16, verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.decode(tf.zeros((1, 4))).dtype == tf.float32
    assert all(np.isfinite(history.history["loss"]))


@pytest.mark.parametrize("model_name", ["vae", "cvae"])
def test_the_fused_log_likelihood_is_the_tfp_bernoulli_log_prob(model_name):
    model = zoo.get(model_name, latent_dim=3, hidden_units=(16,))
    images = tf.constant(binary_images(4))
    codes = tf.random.stateless_normal([5, 4, 3], seed=[3, 4]) * 3.0  # k=5 draws per image, large logits included
    condition = model.condition_of(tf.constant([0, 3, 7, 9])) if model.takes_labels else None
    expected = model.likelihood(codes, condition).log_prob(images)
    np.testing.assert_allclose(model.log_likelihood(codes, images, condition), expected, rtol=1e-5)


def test_decoding_several_chunks_per_call_changes_no_estimate():
    model = zoo.get("vae", latent_dim=3, hidden_units=(16,))
    images = binary_images(20)
    # chunks of 25 draws per image (max_decoded // batch_size); k = 70: chunks of 25, 25, 20
    one_chunk_per_call, all_in_one_call = (
        per_image_log_likelihood(model, images, 70, batch_size=10, max_decoded=250, decoded_per_call=calls,
                                 progress=False) for calls in (250, 10_000))
    np.testing.assert_allclose(one_chunk_per_call, all_in_one_call, rtol=1e-5)


def test_two_layer_samples_draw_z1_rather_than_decode_its_mean():
    # With p(z1 | z2) blind to z2, decoding its mean would give one image for every code; ancestral draws differ.
    model = zoo.get("two_layer_vae", latent_dim=3, bottom_latent_dim=4, hidden_units=(16,), top_hidden_units=(8,))
    head = model.top_decoder.layers[-2]
    kernel, bias = head.get_weights()
    head.set_weights([np.zeros_like(kernel), bias])
    samples = model.sample(6, tf.constant([1, 2])).numpy()
    assert np.abs(samples - samples[:1]).max() > 1e-3
    np.testing.assert_array_equal(samples, model.sample(6, tf.constant([1, 2])).numpy())


def test_two_layer_endpoints_carry_the_image_through_z1():
    """encode's code is z1 (what decode takes), so reconstruct = decode(encode(x)) keeps the image even when the
    top layer carries nothing (p(z1 | z2) blind to z2); the top layer is encode's top_mean and top_stddev."""
    model = zoo.get("two_layer_vae", latent_dim=3, bottom_latent_dim=4, hidden_units=(16,), top_hidden_units=(8,))
    head = model.top_decoder.layers[-2]
    kernel, bias = head.get_weights()
    head.set_weights([np.zeros_like(kernel), bias])
    images = tf.constant(binary_images(6))
    outputs = model.encode_outputs(images)
    assert {name: value.shape for name, value in outputs.items()} == {
        "code": (6, 4), "mean": (6, 4), "stddev": (6, 4), "top_mean": (6, 3), "top_stddev": (6, 3)}
    reconstructions = model(images).numpy()
    np.testing.assert_allclose(reconstructions, model.decode(outputs["code"]).numpy(), atol=1e-6)
    assert np.abs(reconstructions - reconstructions[:1]).max() > 1e-3
    assert model.endpoints()["decode"].inputs[0].shape.as_list() == [None, 4]


def test_active_units_count_the_units_whose_posterior_mean_varies():
    model = zoo.get("two_layer_vae", latent_dim=3, bottom_latent_dim=4, hidden_units=(16,), top_hidden_units=(8,))
    images = binary_images(200)
    active = metrics.active_units(model, images)
    variances = np.var(model.encode(tf.constant(images)).numpy(), axis=0)
    assert active["z1"] == int(np.sum(variances > metrics.ACTIVE_UNIT_THRESHOLD))
    # z1's first unit made constant, and the top layer blind to z1: both are inactive.
    head = model.encoder.layers[-1]
    kernel, bias = head.get_weights()
    kernel[:, 0] = 0.0
    kernel[:, 1:4] *= 20.0  # the other means vary widely
    head.set_weights([kernel, bias])
    top_head = model.top_encoder.layers[-1]
    top_head.set_weights([np.zeros_like(w) for w in top_head.get_weights()])
    assert metrics.active_units(model, images) == {"z1": 3, "z2": 0}


@pytest.mark.parametrize("model_name", ["vae", "two_layer_vae"])
def test_the_kl_warmup_weighs_the_latent_terms_in_training_only(model_name):
    model = zoo.get(model_name, latent_dim=3, hidden_units=(16,), kl_warmup_steps=4,
                    **({"bottom_latent_dim": 4, "top_hidden_units": (8,)} if model_name == "two_layer_vae" else {}))
    model.compile(optimizer="adam")
    model.build_optimizers()
    images = tf.constant(binary_images(8))
    for steps_done, weight in ((0, 0.25), (1, 0.5), (3, 1.0), (50, 1.0)):
        model.optimizer.iterations.assign(steps_done)
        losses = model.compute_losses(images, training=True)
        np.testing.assert_allclose(losses["loss"], losses["reconstruction"] + weight * losses["kl"], rtol=1e-5)
        losses = model.compute_losses(images)  # validation and evaluation: the bound itself
        np.testing.assert_allclose(losses["loss"], losses["reconstruction"] + losses["kl"], rtol=1e-5)
    assert type(model).from_config(model.get_config()).kl_warmup_steps == 4
    with pytest.raises(ValueError, match="kl_warmup_steps must be >= 0; received kl_warmup_steps=-1"):
        zoo.get(model_name, kl_warmup_steps=-1)


def test_the_kl_warmup_trains_with_the_dreg_gradient_after_it(mnist_small):
    keras.utils.set_random_seed(0)
    model = zoo.get("two_layer_vae", latent_dim=4, bottom_latent_dim=8, hidden_units=(64,), top_hidden_units=(16,),
                    importance_samples=3, gradient_estimator="dreg", kl_warmup_steps=5)
    model.compile(optimizer="adam")
    history = model.fit(mnist_small.train.take(10), epochs=2, validation_data=mnist_small.test.take(2), verbose=0)
    assert int(model.optimizer.iterations) == 20 and float(model.warmup_weight()) == 1.0
    assert np.all(np.isfinite(history.history["loss"] + history.history["val_loss"]))
