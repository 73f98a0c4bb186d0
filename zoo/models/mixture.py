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
from sklearn.mixture import GaussianMixture

from zoo.models.ae import AE
from zoo.registry import register

tfd = tfp.distributions


def fit_gaussian_mixture(points, components, seed=0, regularization=1e-4, iterations=200):
    """Full-covariance Gaussian mixture fitted by EM (scikit-learn's GaussianMixture, k-means++ start).

    Returns (weights [K], means [K, d], covariances [K, d, d], mean log-likelihood per point in nats).
    """
    points = np.asarray(points, np.float64)
    if len(points) < components:
        raise ValueError(f"need at least {components} points for {components} components; received {len(points)}")
    mixture = GaussianMixture(components, covariance_type="full", reg_covar=regularization, max_iter=iterations,
                              tol=1e-5, init_params="k-means++", random_state=seed).fit(points)
    return mixture.weights_, mixture.means_, mixture.covariances_, float(mixture.score(points))


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
    ENDPOINTS = AE.ENDPOINTS + ("sample",)

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
        """Fits the mixture to `codes` [n, latent_dim] by EM; returns the mean log-likelihood per code (nats).
        The sampler inside the model (and its SavedModel) is the TFP mixture of `prior()`."""
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

    def endpoints(self):
        return {**super().endpoints(), "sample": self.sample_endpoint()}

    def sample_standard_normal(self, num, seed):
        """Decoded draws from N(0, I): what the course shows failing for a plain autoencoder."""
        return self.decode(tf.random.stateless_normal([num, self.latent_dim], seed=seed))

    def get_config(self):
        config = super().get_config()
        config.update(mixture_components=self.mixture_components)
        return config
