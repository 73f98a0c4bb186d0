"""Likelihood bounds for probabilistic models, in nats per image."""

import math
import sys
import time

import keras
import numpy as np
import tensorflow as tf

LIKELIHOOD_SEED = 2016


def per_image_log_likelihood(model, images, num_samples, batch_size=100, seed=LIKELIHOOD_SEED,
                             max_decoded=20000, progress=True):
    """Importance-sampled log p(x) for each image: log (1/k) sum_i p(x, z_i) / q(z_i | x), z_i ~ q(z | x).

    A lower bound on log p(x) in expectation (the k-sample IWAE bound) that tightens as k grows;
    k = 1 gives the ELBO. Samples are drawn in chunks so that at most `max_decoded` images are decoded
    at once. Deterministic for a given seed.

    Args:
      model: a model with `importance_terms(images, num_samples, seed)` (e.g. the VAE).
      images: float32 array [n, 28, 28, 1] of binary images.
      num_samples: k.
    Returns:
      float64 array [n] of log p(x) estimates in nats.
    """
    chunk = max(1, min(num_samples, max_decoded // batch_size))

    @tf.function
    def chunk_log_weights(batch, count, seed):
        terms = model.importance_terms(batch, count, seed)
        return tf.reduce_logsumexp(terms["log_px_z"] + terms["log_pz"] - terms["log_qz"], axis=0)

    results = []
    starts = range(0, len(images), batch_size)
    report = _progress(len(starts), f"log-likelihood, k={num_samples}") if progress else (lambda step: None)
    for step, start in enumerate(starts):
        batch = tf.constant(images[start:start + batch_size])
        partial = []
        for offset in range(0, num_samples, chunk):
            count = min(chunk, num_samples - offset)
            seed_pair = tf.constant([seed + start, offset], dtype=tf.int64)
            partial.append(chunk_log_weights(batch, tf.constant(count), seed_pair))
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
            print(f"{label}: {done}/{total} batches, {time.monotonic() - start:.0f} s", flush=True)

    return report


def importance_sampled_log_likelihood(model, images, num_samples, **kwargs):
    """Mean over images of `per_image_log_likelihood`, nats per image."""
    return float(np.mean(per_image_log_likelihood(model, images, num_samples, **kwargs)))
