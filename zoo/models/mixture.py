"""Generating with a deterministic autoencoder: ex-post density estimation (Ghosh, Sajjadi, Vergari,
Black & Schölkopf, 2020, "From variational to deterministic autoencoders").

A plain autoencoder's codes do not follow N(0, I), so decoding draws from N(0, I) gives blots. Fitting
a Gaussian mixture to the training codes after training, and decoding draws from it, gives digits.
The mixture's parameters are weights of the model, so they travel with its SavedModel and `.keras`
file, and `sample(num, seed)` works in a plain TensorFlow program.
"""

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from zoo.models.ae import AE
from zoo.registry import register

tfd = tfp.distributions


def fit_gaussian_mixture(points, components, iterations=200, seed=0, regularization=1e-4, tolerance=1e-6):
    """Full-covariance Gaussian mixture by EM (k-means++ initialization).

    Returns (weights [K], means [K, d], covariances [K, d, d], mean log-likelihood per point in nats).
    """
    points = np.asarray(points, np.float64)
    count, dims = points.shape
    if count < components:
        raise ValueError(f"need at least {components} points for {components} components; received {count}")
    rng = np.random.default_rng(seed)
    means = [points[rng.integers(count)]]
    for _ in range(1, components):  # k-means++: far points are likelier centres
        distance = np.min([np.sum((points - m) ** 2, axis=1) for m in means], axis=0)
        means.append(points[rng.choice(count, p=distance / distance.sum())])
    means = np.array(means)
    covariances = np.repeat(np.cov(points.T)[None] + regularization * np.eye(dims), components, axis=0)
    weights = np.full(components, 1.0 / components)

    def e_step():
        log_joint = np.stack([np.log(weights[k]) + _gaussian_log_density(points, means[k], covariances[k])
                              for k in range(components)], axis=1)
        log_norm = np.logaddexp.reduce(log_joint, axis=1)
        return float(np.mean(log_norm)), log_joint - log_norm[:, None]

    previous = -np.inf
    for _ in range(iterations):
        log_likelihood, log_responsibilities = e_step()
        if log_likelihood - previous < tolerance * abs(log_likelihood):
            break
        previous = log_likelihood
        responsibilities = np.exp(log_responsibilities)
        totals = responsibilities.sum(axis=0) + 1e-12
        weights = totals / count
        means = responsibilities.T @ points / totals[:, None]
        for k in range(components):
            centred = points - means[k]
            covariances[k] = (responsibilities[:, k, None] * centred).T @ centred / totals[k]
            covariances[k] += regularization * np.eye(dims)
    else:
        log_likelihood, _ = e_step()  # of the parameters returned
    return weights, means, covariances, log_likelihood


def _gaussian_log_density(points, mean, covariance):
    cholesky = np.linalg.cholesky(covariance)
    solved = np.linalg.solve(cholesky, (points - mean).T)
    log_det = 2.0 * np.sum(np.log(np.diag(cholesky)))
    return -0.5 * (np.sum(solved ** 2, axis=0) + log_det + len(mean) * np.log(2 * np.pi))


@register("ae_mixture")
@keras.saving.register_keras_serializable("zoo")
class MixturePriorAE(AE):
    """An autoencoder with a Gaussian mixture fitted to its training codes, to sample from.

    Train (or copy in) the autoencoder's weights, then call `fit_prior(codes)`. `sample(num, seed)`
    decodes draws from the mixture; `sample_standard_normal(num, seed)` decodes draws from N(0, I),
    for comparison.

    Args:
      mixture_components: K, the number of full-covariance Gaussians.
      **kwargs: the arguments of `AE`.
    """

    samples_title = "decoded draws from the Gaussian mixture fitted to the training codes"

    def __init__(self, mixture_components=10, **kwargs):
        super().__init__(**kwargs)
        if int(mixture_components) < 1:
            raise ValueError(f"mixture_components must be >= 1; received {mixture_components}")
        self.mixture_components = int(mixture_components)
        k, d = self.mixture_components, self.latent_dim
        self.mixture_logits = self.add_weight(shape=(k,), initializer="zeros", trainable=False, name="mixture_logits")
        self.mixture_means = self.add_weight(shape=(k, d), initializer="zeros", trainable=False, name="mixture_means")
        identity = np.tile(np.eye(d, dtype=np.float32), (k, 1, 1))
        self.mixture_scale_tril = self.add_weight(shape=(k, d, d), initializer=keras.initializers.Constant(identity),
                                                  trainable=False, name="mixture_scale_tril")

    def fit_prior(self, codes, seed=0):
        """Fits the mixture to `codes` [n, latent_dim] by EM; returns the mean log-likelihood per code (nats)."""
        weights, means, covariances, log_likelihood = fit_gaussian_mixture(codes, self.mixture_components, seed=seed)
        self.mixture_logits.assign(np.log(weights).astype(np.float32))
        self.mixture_means.assign(means.astype(np.float32))
        self.mixture_scale_tril.assign(np.linalg.cholesky(covariances).astype(np.float32))
        return log_likelihood

    def prior(self):
        """The fitted mixture as a TFP distribution over codes."""
        return tfd.MixtureSameFamily(
            tfd.Categorical(logits=self.mixture_logits),
            tfd.MultivariateNormalTriL(loc=self.mixture_means, scale_tril=self.mixture_scale_tril))

    def sample(self, num, seed):
        """Decoded draws from the fitted mixture, stateless in the int seed [2]."""
        return self.decode(self.prior().sample(num, seed=tf.cast(seed, tf.int32)))

    def sample_standard_normal(self, num, seed):
        """Decoded draws from N(0, I): what the course shows failing for a plain autoencoder."""
        return self.decode(tf.random.stateless_normal([num, self.latent_dim], seed=seed))

    def get_config(self):
        config = super().get_config()
        config.update(mixture_components=self.mixture_components)
        return config
