"""Likelihood bounds for probabilistic models, in nats per image."""

import math
import sys

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
    bar = keras.utils.Progbar(len(starts), unit_name="batch") if progress and sys.stdout.isatty() else None
    for step, start in enumerate(starts):
        batch = tf.constant(images[start:start + batch_size])
        partial = []
        for offset in range(0, num_samples, chunk):
            count = min(chunk, num_samples - offset)
            seed_pair = tf.constant([seed + start, offset], dtype=tf.int64)
            partial.append(chunk_log_weights(batch, tf.constant(count), seed_pair))
        log_sum = tf.reduce_logsumexp(tf.stack(partial), axis=0)
        results.append(log_sum.numpy().astype(np.float64) - math.log(num_samples))
        if bar:
            bar.update(step + 1)
    return np.concatenate(results)


def importance_sampled_log_likelihood(model, images, num_samples, **kwargs):
    """Mean over images of `per_image_log_likelihood`, nats per image."""
    return float(np.mean(per_image_log_likelihood(model, images, num_samples, **kwargs)))
