"""The defining property of each classic autoencoder, tested on real MNIST with a small budget."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import metrics


@pytest.fixture(scope="module")
def mnist_gray(mnist_dir):
    """Grayscale MNIST in [0, 1]: (train images, test images)."""
    from zoo import data

    arrays = data.mnist_grayscale(mnist_dir)
    return arrays["train"][0], arrays["test"][0]


def trained(name, images, epochs, batch_size=100, learning_rate=1e-3, **config):
    """A model trained on `images`: adapt, then Adam with cosine decay to 1% of the peak (the core decays to 5%)."""
    keras.utils.set_random_seed(0)
    model = zoo.get(name, **config)
    model.adapt(tf.data.Dataset.from_tensor_slices(images).batch(1000))
    steps = epochs * (len(images) // batch_size)
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps, 0.01)))
    model.fit(images, epochs=epochs, batch_size=batch_size, verbose=0)
    return model


def principal_directions(images, k):
    flat = images.reshape(len(images), -1).astype(np.float64)
    mean = flat.mean(0)
    _, _, rows = np.linalg.svd(flat - mean, full_matrices=False)
    return mean, rows[:k].T


def largest_principal_angle_degrees(a, b):
    qa, qb = np.linalg.qr(a)[0], np.linalg.qr(b)[0]
    cosines = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return np.degrees(np.arccos(np.clip(cosines.min(), -1.0, 1.0)))


# Linear autoencoder = PCA

def test_linear_autoencoder_spans_the_principal_subspace_and_matches_pca_error(mnist_gray):
    train, test = mnist_gray[0][:10000], mnist_gray[1]
    k = 8
    model = trained("linear_ae", train, epochs=40, batch_size=500, learning_rate=0.01, latent_dim=k)
    mean, directions = principal_directions(train, k)
    decoder = model.decoder_matrix().numpy().astype(np.float64)
    assert largest_principal_angle_degrees(decoder, directions) < 1.0

    def errors(images):
        """Mean squared error per image of PCA's rank-k reconstruction and of the autoencoder's, around `mean`."""
        centred = images.reshape(len(images), -1).astype(np.float64) - mean
        pca = np.mean(np.sum((centred - centred @ directions @ directions.T) ** 2, axis=1))
        reconstruction = model.decode_raw(model.encode(tf.constant(images))).numpy().reshape(len(images), -1) - mean
        return pca, np.mean(np.sum((centred - reconstruction) ** 2, axis=1))

    # Eckart-Young: on the data PCA was fit to, no rank-k linear map does better (float32 rounding aside)...
    pca_train, ae_train = errors(train)
    assert pca_train <= ae_train * (1 + 1e-6)
    assert ae_train < 1.005 * pca_train
    # ...which guarantees nothing on other data: there the autoencoder is only checked to be as close.
    pca_test, ae_test = errors(test)
    assert abs(ae_test - pca_test) < 0.005 * pca_test


def test_l2_linear_autoencoder_recovers_the_principal_directions_in_order(mnist_gray):
    train = mnist_gray[0][:10000]
    k = 8
    model = trained("linear_ae", train, epochs=60, batch_size=500, learning_rate=0.01, latent_dim=k, l2=1.0)
    _, directions = principal_directions(train, k)
    components = model.principal_components().numpy().astype(np.float64)
    assert components.shape == (784, k)
    cosines = np.abs(np.sum(components * directions, axis=0))
    angles = np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))
    assert np.all(angles < 2.0), angles


# Tied weights

def test_tied_autoencoder_shares_one_kernel_per_layer_and_trains_it(mnist_gray):
    model = zoo.get("tied_ae", hidden_units=(64,), latent_dim=16)
    kernels = [v for v in model.trainable_variables if v.name == "kernel"]
    assert sorted(tuple(k.shape) for k in kernels) == [(64, 16), (784, 64)]
    # encoder kernels and biases, then the decoder's own biases only
    assert model.count_params() == (784 * 64 + 64) + (64 * 16 + 16) + (64 + 784)
    assert zoo.get("ae", hidden_units=(64,), latent_dim=16).count_params() - model.count_params() == 784 * 64 + 64 * 16

    images = tf.constant(mnist_gray[0][:8])
    first = kernels[[k.shape[0] for k in kernels].index(784)]
    codes = model.encode(images)
    before = model.decode_raw(codes).numpy()
    first.assign_add(tf.fill(first.shape, 0.01))  # the decoder reads the very same variable
    assert not np.allclose(model.decode_raw(codes).numpy(), before)

    start = first.numpy().copy()
    model.compile(optimizer="adam")
    model.fit(mnist_gray[0][:200], epochs=1, batch_size=100, verbose=0)
    assert not np.array_equal(first.numpy(), start)


# Sparse

def test_sparse_autoencoder_holds_mean_activation_near_rho(mnist_gray):
    train, test = mnist_gray[0][:20000], mnist_gray[1][:2000]
    sparse = trained("sparse_ae", train, epochs=5, rho=0.05)
    dense = trained("sparse_ae", train, epochs=5, rho=0.05, sparsity_weight=0.0)
    sparse_activation = metrics.autoencoder_test_metrics(sparse, test)["test_mean_activation"]
    dense_activation = metrics.autoencoder_test_metrics(dense, test)["test_mean_activation"]
    assert abs(sparse_activation - 0.05) < 0.25 * 0.05, sparse_activation
    assert sparse_activation < 0.25 * dense_activation, (sparse_activation, dense_activation)


def test_sparsity_penalty_is_beta_times_summed_bernoulli_kl():
    model = zoo.get("sparse_ae", latent_dim=3, hidden_units=(8,), rho=0.1, sparsity_weight=2.0)
    codes = tf.constant([[0.2, 0.1, 0.5], [0.4, 0.1, 0.3]])
    penalties, diagnostics = model.extra_terms(None, codes)
    rho_hat = np.array([0.3, 0.1, 0.4])
    kl = 0.1 * np.log(0.1 / rho_hat) + 0.9 * np.log(0.9 / (1 - rho_hat))
    np.testing.assert_allclose(penalties["sparsity"].numpy(), 2.0 * kl.sum(), rtol=1e-5)
    np.testing.assert_allclose(diagnostics["mean_activation"].numpy(), rho_hat.mean(), rtol=1e-6)


# Denoising

def test_denoising_autoencoder_restores_masked_digits_better_than_a_plain_one(mnist_gray):
    train, test = mnist_gray[0][:20000], mnist_gray[1][:2000]
    denoising = trained("denoising_ae", train, epochs=3, corruption="masking", noise_level=0.5)
    plain = trained("denoising_ae", train, epochs=3, corruption="masking", noise_level=0.0)  # the same network
    corrupted = metrics.masked(test, q=0.5)
    errors = [metrics.reconstruction_errors(m, corrupted, targets=test)["squared_error"] for m in (denoising, plain)]
    assert errors[0] < 0.8 * errors[1], errors


def test_corruption_happens_only_in_training():
    model = zoo.get("denoising_ae", hidden_units=(16,), latent_dim=4, noise_level=0.5)
    images = tf.constant((np.random.default_rng(0).random((16, 28, 28, 1)) < 0.3).astype(np.float32))
    np.testing.assert_array_equal(model(images).numpy(), model(images).numpy())
    evaluation = [model.compute_losses(images, training=False)["loss"].numpy() for _ in range(2)]
    assert evaluation[0] == evaluation[1]
    assert model.compute_losses(images, training=True)["loss"].numpy() != evaluation[0]


@pytest.mark.parametrize("corruption, level", [("masking", 0.3), ("gaussian", 0.1), ("salt_and_pepper", 0.2)])
def test_corruptions_have_the_stated_strength(corruption, level):
    from zoo.corruptions import corrupt

    images = tf.fill([50, 28, 28, 1], 0.5)
    noisy = corrupt(images, corruption, level, tf.constant([1, 2])).numpy()
    changed = np.mean(noisy != 0.5)
    assert noisy.min() >= 0 and noisy.max() <= 1
    if corruption == "gaussian":
        assert abs(np.std(noisy - 0.5) - level) < 0.01
    else:
        assert abs(changed - level) < 0.01
    if corruption == "salt_and_pepper":
        assert set(np.unique(noisy)) == {0.0, 0.5, 1.0}


def test_mixed_corruption_gives_each_kind_to_a_quarter_of_the_images():
    from zoo.corruptions import BLOCK_SIZE, corrupt

    images = tf.fill([800, 28, 28, 1], 0.5)
    noisy = corrupt(images, "mixed", 0.5, tf.constant([3, 4])).numpy()
    zeros = noisy == 0
    halved = zeros[:, 14:].all(axis=(1, 2, 3)) & ~zeros[:, :14].any(axis=(1, 2, 3))

    def one_block(zero):  # the zeros fill one BLOCK_SIZE x BLOCK_SIZE square
        rows, columns = np.nonzero(zero[..., 0])
        return len(rows) == BLOCK_SIZE ** 2 and np.ptp(rows) == np.ptp(columns) == BLOCK_SIZE - 1

    blocked = np.array([one_block(zero) for zero in zeros])
    gaussian = (noisy != 0.5).mean(axis=(1, 2, 3)) > 0.9  # almost every pixel moved
    masked = ~(halved | blocked | gaussian)
    for kind in (halved, blocked, gaussian, masked):
        assert abs(kind.mean() - 0.25) < 0.06
    assert set(np.unique(noisy[masked])) <= {0.0, 0.5}
    assert noisy.min() >= 0 and noisy.max() <= 1
    q = zeros[masked].mean()
    assert abs(q - 0.25) < 0.03  # q uniform in [0, 0.5]


def test_bad_noise_levels_are_refused():
    with pytest.raises(ValueError, match=r"noise_level is q for masking and must be in \[0, 1\); received noise_level=1.0"):
        zoo.get("denoising_ae", noise_level=1.0)
    with pytest.raises(ValueError, match=r"noise_level is sigma for gaussian and must be >= 0; received noise_level=-0.1"):
        zoo.get("denoising_ae", corruption="gaussian", noise_level=-0.1)
    with pytest.raises(ValueError, match=r"noise_level is level for mixed and must be in \[0, 1\) \(the largest q and sigma\); received noise_level=1.0"):
        zoo.get("denoising_ae", corruption="mixed", noise_level=1.0)


# Contractive

def autodiff_jacobian_sq_norms(model, images):
    with tf.GradientTape() as tape:
        tape.watch(images)
        codes = model.encode(images)
    jacobian = tape.batch_jacobian(codes, images)
    return tf.reduce_sum(tf.reshape(tf.square(jacobian), [images.shape[0], -1]), axis=-1).numpy()


def test_contractive_closed_form_equals_the_autodiff_jacobian(mnist_gray):
    model = zoo.get("contractive_ae", hidden_units=(), latent_dim=16, seed=1)
    assert model.closed_form
    images = tf.constant(mnist_gray[1][:8])
    closed = model.closed_form_jacobian_sq_norms(model.encode(images)).numpy()
    np.testing.assert_allclose(closed, autodiff_jacobian_sq_norms(model, images), rtol=1e-5)


def test_contractive_estimate_is_unbiased_for_a_deep_encoder(mnist_gray):
    model = zoo.get("contractive_ae", hidden_units=(64,), latent_dim=16, jacobian_projections=400, seed=1)
    assert not model.closed_form
    images = tf.constant(mnist_gray[1][:4])
    _, estimate = model.estimated_jacobian_sq_norms(images)
    np.testing.assert_allclose(estimate.numpy(), autodiff_jacobian_sq_norms(model, images), rtol=0.2)


def test_contractive_estimate_trains_under_xla(mnist_gray):
    model = zoo.get("contractive_ae", hidden_units=(32,), latent_dim=8)
    model.compile(optimizer="adam", jit_compile=True)
    history = model.fit(mnist_gray[0][:300], epochs=2, batch_size=100, verbose=0)
    assert np.all(np.isfinite(history.history["contraction"]))


def test_contractive_autoencoder_has_a_smaller_jacobian_than_the_same_network_without_penalty(mnist_gray):
    train, test = mnist_gray[0][:20000], mnist_gray[1][:500]
    norms = [metrics.jacobian_frobenius_norms(trained("contractive_ae", train, epochs=4, contraction_weight=weight)
                                              .encode, test).mean() for weight in (0.1, 0.0)]
    assert norms[0] < 0.85 * norms[1], norms


@pytest.mark.parametrize("config", [
    {"arch": "conv", "hidden_units": (64,), "latent_dim": 16},                 # convolutional
    {"hidden_units": (128, 64, 32), "latent_dim": 8},                          # deep
    {"hidden_units": (), "latent_dim": 1000},                                  # overcomplete, one layer
    {"output_activation": "linear", "hidden_units": (32,), "latent_dim": 8},   # real-valued output
])
def test_autoencoder_shapes_train_and_adapt(config, mnist_gray):
    images = mnist_gray[0][:200]
    model = trained("ae", images, epochs=1, **config)
    codes = model.encode(tf.constant(images[:5]))
    assert codes.shape == (5, config["latent_dim"])
    outputs = model.decode_outputs(codes)
    assert outputs["probs"].shape == (5, 28, 28, 1)
    assert 0.0 <= outputs["probs"].numpy().min() and outputs["probs"].numpy().max() <= 1.0
    assert ("logits" if model.output_activation == "sigmoid" else "mean") in outputs
    assert model.output_bias().shape == ((1,) if model.arch == "conv" else (784,))  # per channel or per pixel


@pytest.mark.parametrize("output_activation", ["sigmoid", "linear"])
def test_adapt_sets_the_output_bias_to_the_mean_image_through_the_link(output_activation, mnist_gray):
    images = mnist_gray[0][:1000]
    model = zoo.get("ae", hidden_units=(16,), latent_dim=4, output_activation=output_activation)
    model.adapt(tf.data.Dataset.from_tensor_slices(images).batch(250))
    mean = images.mean(0).reshape(-1).astype(np.float64)
    expected = np.log(mean + 1e-3) - np.log(1 - mean + 1e-3) if output_activation == "sigmoid" else mean
    np.testing.assert_allclose(model.output_bias().numpy(), expected, rtol=1e-4, atol=1e-5)
