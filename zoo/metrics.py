"""Measurements: likelihood bounds (nats per image), reconstruction errors and the autoencoders'
property measures, a linear probe, and sample quality with the zoo's classifier. `test_metrics` gives a
model the test measures its class names (`evaluation`), from `EVALUATIONS`."""

import math
import sys
import time

import keras
import numpy as np
import tensorflow as tf
from sklearn.linear_model import LogisticRegression

from zoo.batching import apply_in_batches
from zoo.corruptions import corrupt

LIKELIHOOD_SEED = 2016


def per_image_log_likelihood(model, images, num_samples, batch_size=100, seed=LIKELIHOOD_SEED,
                             max_decoded=20000, progress=True, labels=None, decoded_per_call=60000):
    """Importance-sampled log p(x) for each image: log (1/k) sum_i p(x, z_i) / q(z_i | x), z_i ~ q(z | x).

    A lower bound on log p(x) in expectation (the k-sample IWAE bound) that tightens as k grows;
    k = 1 gives the ELBO. Deterministic for a given seed: the draws come in chunks of max_decoded // batch_size
    samples per image, each from its own seed, so they do not depend on how many chunks one compiled call decodes
    together (up to `decoded_per_call` images: larger matmuls, fewer calls).

    Args:
      model: a model with `posterior`, `draw_codes` and `terms_at` (the VAE; see VAE.importance_terms), whatever its
        likelihood.
      images: float32 array [n, *model.image_shape] of inputs in raw units (binary images for MNIST); a model that
        standardizes is given them standardized, and the estimate is then of the standardized inputs, as its losses.
      num_samples: k.
      labels: the images' labels [n], for conditional models (`model.takes_labels`).
    Returns:
      float64 array [n] of log p(x) estimates in nats.
    """
    chunk = max(1, min(num_samples, max_decoded // batch_size))
    chunks_per_call = max(1, decoded_per_call // (batch_size * chunk))
    conditional = labels is not None and model.takes_labels

    @tf.function
    def log_weights(batch, batch_labels, seeds, counts):
        condition = model.condition_of(batch_labels) if conditional else None
        batch = model.standardized(batch)
        q = model.posterior(batch, condition)
        codes = tf.concat([model.draw_codes(q, count, seeds[i]) for i, count in enumerate(counts)], axis=0)
        terms = model.terms_at(q, codes, batch, condition)
        return tf.reduce_logsumexp(terms["log_px_z"] + terms["log_pz"] - terms["log_qz"], axis=0)

    offsets = list(range(0, num_samples, chunk))
    calls = [offsets[i:i + chunks_per_call] for i in range(0, len(offsets), chunks_per_call)]
    results = []
    starts = range(0, len(images), batch_size)
    report = _progress(len(starts), f"log-likelihood, k={num_samples}") if progress else (lambda step: None)
    for step, start in enumerate(starts):
        batch = tf.constant(images[start:start + batch_size])
        batch_labels = tf.constant(labels[start:start + batch_size] if conditional else np.zeros(len(batch), np.int32))
        partial = []
        for call in calls:
            seeds = tf.constant([[seed + start, offset] for offset in call], dtype=tf.int64)
            counts = tuple(min(chunk, num_samples - offset) for offset in call)
            partial.append(log_weights(batch, batch_labels, seeds, counts))
        log_sum = tf.reduce_logsumexp(tf.stack(partial), axis=0)
        results.append(log_sum.numpy().astype(np.float64) - math.log(num_samples))
        report(step + 1)
    return np.concatenate(results)


def _progress(total, label):
    """A Keras progress bar on a terminal; otherwise (logs) a line at every tenth of the work."""
    if sys.stdout.isatty():
        bar = keras.utils.Progbar(total, unit_name="batch")
        return bar.update
    start = time.monotonic()
    marks = {max(1, round(total * tenth / 10)) for tenth in range(1, 11)}

    def report(done):
        if done in marks:
            elapsed = time.monotonic() - start
            left = f", about {elapsed / done * (total - done):.0f} s left" if done < total else ""
            print(f"{label}: {done}/{total} batches, {elapsed:.0f} s{left}", flush=True)

    return report


def importance_sampled_log_likelihood(model, images, num_samples, **kwargs):
    """Mean over images of `per_image_log_likelihood`, nats per image."""
    return float(np.mean(per_image_log_likelihood(model, images, num_samples, **kwargs)))


# Deterministic autoencoders: reconstruction errors, the variants' property measures, a linear probe.

MASKED_INPUT_Q = 0.5
PROPERTY_SEED = 1234
JACOBIAN_IMAGES = 1000


def reconstruction_errors(reconstruct, images, targets=None, batch_size=500):
    """Mean per-image errors of `reconstruct(batch)` (values in [0, 1]) against `targets` (default: `images`).

    Returns {"squared_error": summed over pixels, "bce_nats": binary cross-entropy summed over pixels}.
    """
    targets = images if targets is None else targets
    recon = apply_in_batches(reconstruct, images, batch_size, np.float64).reshape(len(images), -1)
    truth = np.asarray(targets, np.float64).reshape(len(targets), -1)
    clipped = np.clip(recon, 1e-7, 1 - 1e-7)
    bce = -np.sum(truth * np.log(clipped) + (1 - truth) * np.log(1 - clipped), axis=1)
    return {"squared_error": float(np.mean(np.sum((recon - truth) ** 2, axis=1))), "bce_nats": float(np.mean(bce))}


def masked(images, q=MASKED_INPUT_Q, seed=PROPERTY_SEED):
    """`images` with each pixel set to 0 with probability q (fixed seed): the masked-input benchmark."""
    return corrupt(images, "masking", q, tf.constant([seed, 0])).numpy()


def jacobian_frobenius_norms(encode, images, batch_size=100):
    """||d code / d image||_F of each image [n], exactly, by autodiff (one backward pass per code unit)."""

    @tf.function(reduce_retracing=True)
    def norms(batch):
        with tf.GradientTape() as tape:
            tape.watch(batch)
            codes = encode(batch)
        jacobian = tape.batch_jacobian(codes, batch)
        return tf.sqrt(tf.reduce_sum(tf.reshape(tf.square(jacobian), [tf.shape(batch)[0], -1]), axis=-1))

    return apply_in_batches(norms, images, batch_size)


def autoencoder_test_metrics(model, images, batch_size=100):
    """Test metrics of a deterministic autoencoder: reconstruction errors of clean and masked inputs,
    the mean Jacobian Frobenius norm of its code (with respect to the raw input), and the mean code activation for
    sigmoid codes."""
    def encode(batch):
        return model.encode(model.standardized(batch))

    clean = reconstruction_errors(model, images)
    masked_inputs = reconstruction_errors(model, masked(images), targets=images)
    metrics = {"test_squared_error": clean["squared_error"],
               f"test_masked_q{MASKED_INPUT_Q}_squared_error": masked_inputs["squared_error"]}
    if model.output_activation == "sigmoid":
        metrics.update(test_bce_nats=clean["bce_nats"],
                       **{f"test_masked_q{MASKED_INPUT_Q}_bce_nats": masked_inputs["bce_nats"]})
    metrics["test_jacobian_norm"] = float(np.mean(jacobian_frobenius_norms(encode, images[:JACOBIAN_IMAGES], batch_size)))
    metrics["jacobian_norm_images"] = min(len(images), JACOBIAN_IMAGES)
    if model.code_activation == "sigmoid":
        metrics["test_mean_activation"] = float(np.mean(apply_in_batches(encode, images)))
    return metrics


# Burda et al. (2016) count a latent unit u as active when Cov_x(E_q[u | x]) exceeds this.
ACTIVE_UNIT_THRESHOLD = 0.01


def active_units(model, images, labels=None, batch_size=500, threshold=ACTIVE_UNIT_THRESHOLD):
    """{layer: number of active units} of a VAE's stochastic layers (`model.posterior_means`) over `images`: the
    units whose posterior mean E_q[u | x] varies across images with a variance above `threshold`."""
    def means(batch, batch_labels):
        return model.posterior_means(model.standardized(batch),
                                     model.condition_of(batch_labels) if model.takes_labels else None)

    if labels is None:
        labels = np.zeros(len(images), np.int32)
    per_layer = apply_in_batches(lambda batch: means(*batch), (np.asarray(images, np.float32), labels), batch_size)
    return {layer: int(np.sum(np.var(values, axis=0) > threshold)) for layer, values in per_layer.items()}


def likelihood_test_metrics(model, images, labels, tracked, eval_samples, batch_size):
    """Test metrics of a model with a likelihood (the VAEs): -log p(x) importance-sampled with k = `eval_samples`
    (given the label for conditional models), the -ELBO from its tracked test losses, in nats per image, and the
    active units of each stochastic layer."""
    log_px = importance_sampled_log_likelihood(model, images, eval_samples, batch_size=batch_size, labels=labels)
    active = active_units(model, images, labels)
    return {"test_nll_nats": -log_px, "nll_importance_samples": eval_samples,
            "test_elbo_nats": -(float(tracked["reconstruction"]) + float(tracked["kl"])),
            **{f"test_active_units_{layer}": count for layer, count in active.items()}}


# name (a model class's `evaluation`) -> test metrics(model, images, labels, tracked losses, eval_samples, batch_size)
EVALUATIONS = {
    "likelihood": likelihood_test_metrics,
    "reconstruction": lambda model, images, labels, tracked, eval_samples, batch_size: autoencoder_test_metrics(
        model, images, batch_size=batch_size),
}


def test_metrics(model, images, labels, tracked, eval_samples, batch_size):
    """The test measures that `model`'s class names in `evaluation` (none if it names none)."""
    if model.evaluation is None:
        return {}
    return EVALUATIONS[model.evaluation](model, images, labels, tracked, eval_samples, batch_size)


def linear_probe_accuracy(train_features, train_labels, test_features, test_labels, l2=1e-4, iterations=500):
    """Test accuracy of multinomial logistic regression (scikit-learn, L-BFGS) on features standardized by the
    training mean and std, minimizing the mean cross-entropy + l2 * ||W||^2 (the intercept is not penalized)."""
    mean, std = train_features.mean(0), train_features.std(0) + 1e-6
    # scikit-learn minimizes C * sum of cross-entropies + ||W||^2 / 2: the same optimum for C = 1 / (2 n l2).
    probe = LogisticRegression(C=1.0 / (2 * len(train_features) * l2), max_iter=iterations, tol=1e-8)
    probe.fit((train_features - mean) / std, train_labels)
    return float(np.mean(probe.predict((test_features - mean) / std) == np.asarray(test_labels)))


# Sample quality, measured with the zoo's MNIST classifier (saved_models/mnist_classifier).

def frechet_distance(features_a, features_b):
    """Fréchet distance between Gaussians fitted to two feature sets [n, d]:
    ||mu_a - mu_b||^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2)) (Heusel et al., 2017)."""
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr((S_a S_b)^(1/2)) = sum of the square roots of the eigenvalues of S_a^(1/2) S_b S_a^(1/2) (PSD)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_root = np.sum(np.sqrt(np.clip(middle, 0, None)))
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def classifier_outputs(classify, images, batch_size=500):
    """(features [n, d], class probabilities [n, classes]) of `classify(batch) -> {"features", "probs"}`."""
    outputs = apply_in_batches(classify, np.asarray(images, np.float32), batch_size)
    return outputs["features"], outputs["probs"]


def sample_quality(classify, samples, reference_features):
    """Fréchet distance of the samples' classifier features to the reference features, the classifier's
    mean confidence on the samples, and the spread of its predicted classes."""
    features, probs = classifier_outputs(classify, samples)
    predicted = np.argmax(probs, axis=1)
    shares = np.bincount(predicted, minlength=probs.shape[1]) / len(predicted)
    return {
        "frechet_distance": frechet_distance(features, reference_features),
        "mean_confidence": float(np.mean(np.max(probs, axis=1))),
        "classes_present": int(np.sum(shares >= 0.01)),  # classes with at least 1% of the samples
        "largest_class_share": float(shares.max()),
        "smallest_class_share": float(shares.min()),
    }
