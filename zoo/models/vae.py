"""Variational autoencoder (Kingma & Welling, 2014), with beta (Higgins et al., 2017) and the
importance-weighted objective (Burda et al., 2016, "Importance Weighted Autoencoders").

q(z|x) is a diagonal Gaussian with softplus-positive scale, p(z) = N(0, I), and p(x|z) a product over the pixels
(or the features of a row) of Bernoullis, for inputs in [0, 1] such as MNIST, or of Gaussians, for real values (the
`likelihood` argument, see LIKELIHOODS), all TFP distributions. Loss = -ELBO in nats per image; with
`importance_samples` k > 1 the loss is the negative k-sample importance-weighted bound instead, and
`gradient_estimator="dreg"` trains the encoder with the doubly reparameterized gradient of that bound
(Tucker, Lawson, Gu & Maddison, 2019, "Doubly Reparameterized Gradient Estimators for Monte Carlo
Objectives"): lower variance, the same expectation, the decoder's gradient unchanged.
"""

import dataclasses
import math
from typing import Callable

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from zoo import config, nets
from zoo.losses import png_bits
from zoo.models.base import Autoencoder
from zoo.registry import register

ANOMALY_SCORE_SAMPLES = 16

tfd = tfp.distributions


def bernoulli_log_prob(p, inputs):
    """`p.log_prob(inputs)` of an Independent Bernoulli, summed from the logits as x * logits - softplus(logits) in one
    fused pass; TFP's Bernoulli log_prob made several passes over the [k, batch, pixels] logits and took 40% of an
    evaluation's time (benchmarks/evaluation_speed.py)."""
    logits = p.distribution.logits
    axes = tf.range(tf.rank(logits) - p.reinterpreted_batch_ndims, tf.rank(logits))
    return tf.reduce_sum(inputs * logits - tf.nn.softplus(logits), axis=axes)


def gaussian_outputs(model, p):
    mean = model.raw(p.mean())
    return {"probs": mean, "mean": mean, "stddev": model.raw(p.stddev(), shift=False)}


@dataclasses.dataclass(frozen=True)
class Likelihood:
    """A choice of p(x | z), independent over the pixels or features of an input."""

    # (model, decoder outputs [..., *image_shape]) -> the TFP distribution of each pixel or feature
    distribution: Callable
    # (model, p(x | z)) -> what the decode endpoint returns, in raw units
    decoded: Callable
    real_valued: bool  # inputs are any real values (else values in [0, 1])
    learns_scale: bool = False  # a trainable raw scale per pixel or feature, `likelihood_raw_scale`
    log_prob: Callable = lambda p, inputs: p.log_prob(inputs)


# Gaussian scales are softplus(raw scale) + GAUSSIAN_SCALE_FLOOR, learned from 1 or fixed at 1.
GAUSSIAN_SCALE_FLOOR = 1e-3

LIKELIHOODS = {
    "bernoulli": Likelihood(lambda model, logits: tfd.Bernoulli(logits=logits),
                            lambda model, p: {"logits": p.distribution.logits, "probs": p.mean()},
                            real_valued=False, log_prob=bernoulli_log_prob),
    "gaussian": Likelihood(lambda model, mean: tfd.Normal(loc=mean, scale=tf.nn.softplus(model.likelihood_raw_scale)
                                                          + GAUSSIAN_SCALE_FLOOR),
                           gaussian_outputs, real_valued=True, learns_scale=True),
    "gaussian_fixed": Likelihood(lambda model, mean: tfd.Normal(loc=mean, scale=tf.ones_like(mean)), gaussian_outputs,
                                 real_valued=True),
}
assert set(LIKELIHOODS) == set(config.LIKELIHOODS), "zoo.config.LIKELIHOODS must name every likelihood"


@register("vae")
@keras.saving.register_keras_serializable("zoo")
class VAE(Autoencoder):
    """Variational autoencoder with a Gaussian posterior and a Bernoulli or Gaussian likelihood.

    Args:
      latent_dim: size of z.
      arch: encoder/decoder architecture, a name in `zoo.nets.ARCHITECTURES` ("mlp", "conv").
      hidden_units: widths of the hidden dense layers (the decoder mirrors them).
      beta: weight on the KL term (1 is the VAE; other values the beta-VAE).
      importance_samples: k of the importance-weighted objective; 1 is the ordinary ELBO.
      gradient_estimator: "reparameterization" (the ordinary pathwise gradient) or "dreg" (see the module doc;
        needs beta = 1).
      kl_warmup_steps: training steps over which the weight on log p(z) - log q(z | x) in the objective rises
        linearly from 0 to beta (the warm-up of Sønderby et al. 2016 and Burda et al. 2016, which keeps more latent
        units active); 0 = none. During the warm-up the gradient is the pathwise one (DReG is the gradient of the
        bound itself); validation and evaluation always use the bound.
      anomaly_score_name: what the `score` endpoint returns, a name in `VAE.ANOMALY_SCORES`.
      complexity_weight: w of the neg_elbo_minus_weighted_png_nats score (set by
        `zoo.anomaly.decorrelating_weight` on held-out normal images).
      likelihood: p(x | z), a name in `zoo.config.LIKELIHOODS`: "bernoulli" (inputs in [0, 1]; MNIST), "gaussian"
        (real values; N(decoder output, softplus(s) + 1e-3) with s a trainable weight per pixel or feature) or
        "gaussian_fixed" (real values; unit scale). `decode` and `sample` give the mean.
      **kwargs: image_shape, seed, standardize (with a Gaussian likelihood) and keras.Model arguments.
    """

    loss_names = ("loss", "reconstruction", "kl")
    ENDPOINTS = Autoencoder.ENDPOINTS + ("score", "sample")
    evaluation = "likelihood"
    serving_options = (*Autoencoder.serving_options, "anomaly_score_name", "complexity_weight")

    GRADIENT_ESTIMATORS = ("reparameterization", "dreg")

    def __init__(self, latent_dim=32, arch="mlp", hidden_units=(512, 512), beta=1.0, importance_samples=1,
                 gradient_estimator="reparameterization", anomaly_score_name="neg_elbo", complexity_weight=1.0,
                 kl_warmup_steps=0, likelihood="bernoulli", **kwargs):
        super().__init__(**kwargs)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}; received likelihood={likelihood!r}")
        self.likelihood_name = likelihood
        if anomaly_score_name not in self.ANOMALY_SCORES:
            raise ValueError(f"anomaly_score_name must be one of {', '.join(self.ANOMALY_SCORES)}; received "
                             f"anomaly_score_name={anomaly_score_name!r}")
        if anomaly_score_name not in self.anomaly_scores:
            raise ValueError(f"anomaly_score_name={anomaly_score_name!r} sets the likelihood against the PNG length of "
                             "the input, which needs images [H, W, C] of 1 to 4 channels in [0, 1] (a Bernoulli "
                             f"likelihood, not standardized); received image_shape={self.image_shape}, "
                             f"likelihood={likelihood!r}, standardize={self.standardize}: use one of "
                             f"{', '.join(self.anomaly_scores)}")
        if int(latent_dim) <= 0:
            raise ValueError(f"latent_dim must be a positive integer; received latent_dim={latent_dim}")
        if beta < 0:
            raise ValueError(f"beta must be >= 0; received beta={beta}")
        if int(importance_samples) < 1:
            raise ValueError(f"importance_samples must be >= 1; received importance_samples={importance_samples}")
        if int(kl_warmup_steps) < 0:
            raise ValueError(f"kl_warmup_steps must be >= 0; received kl_warmup_steps={kl_warmup_steps}")
        if gradient_estimator not in self.GRADIENT_ESTIMATORS:
            raise ValueError(f"gradient_estimator must be one of {', '.join(self.GRADIENT_ESTIMATORS)}; received "
                             f"gradient_estimator={gradient_estimator!r}")
        problem = config.arguments_problem(dict(beta=beta, importance_samples=importance_samples,
                                                gradient_estimator=gradient_estimator, likelihood=likelihood,
                                                standardize=self.standardize))
        if problem:
            raise ValueError(problem)
        self.gradient_estimator = gradient_estimator
        self.latent_dim = int(latent_dim)
        self.arch = arch
        self.hidden_units = tuple(int(units) for units in hidden_units)
        self.beta = float(beta)
        self.anomaly_score_name, self.complexity_weight = anomaly_score_name, float(complexity_weight)
        self.importance_samples = int(importance_samples)
        self.kl_warmup_steps = int(kl_warmup_steps)
        self.encoder, self.decoder = self.build_networks()
        if LIKELIHOODS[likelihood].learns_scale:
            start = math.log(math.expm1(1.0 - GAUSSIAN_SCALE_FLOOR))  # a scale of 1 at first
            self.likelihood_raw_scale = self.add_weight(shape=self.image_shape, name="likelihood_raw_scale",
                                                        initializer=keras.initializers.Constant(start))
        self.built = True

    @property
    def real_valued(self):
        return LIKELIHOODS[self.likelihood_name].real_valued

    def build_networks(self):
        """(encoder, decoder): inputs -> [mean, raw scale] of q(z|x), codes -> the likelihood's parameters (Bernoulli
        logits or Gaussian means)."""
        return (nets.encoder(self.arch, self.image_shape, 2 * self.latent_dim, self.hidden_units),
                nets.decoder(self.arch, self.latent_dim, self.image_shape, self.hidden_units))

    # A conditional model (the CVAE) adds its condition (e.g. a one-hot label) to the networks' inputs here.
    def encoder_input(self, images, condition):
        return images

    def decoder_input(self, codes, condition):
        return codes

    # Distributions. Network outputs are cast to float32 so that mixed precision leaves TFP in float32.
    def posterior(self, images, condition=None):
        return self.gaussian(self.encoder(self.encoder_input(images, condition)))

    @staticmethod
    def gaussian(params):
        """The diagonal Gaussian of a network's [mean, raw scale] outputs (softplus-positive scale)."""
        mean, raw_scale = tf.split(tf.cast(params, tf.float32), 2, axis=-1)
        return tfd.MultivariateNormalDiag(loc=mean, scale_diag=tf.nn.softplus(raw_scale) + 1e-5)

    def prior(self):
        return tfd.MultivariateNormalDiag(loc=tf.zeros(self.latent_dim), scale_diag=tf.ones(self.latent_dim))

    def likelihood(self, codes, condition=None):
        """p(x | z) for codes of shape [..., latent_dim]: independent pixels or features, each as LIKELIHOODS names
        for `likelihood`, batch shape [...].

        A condition [b, ...] goes with codes [b, latent_dim] or [k, b, latent_dim]."""
        leading = tf.shape(codes)[:-1]
        flat_codes = tf.reshape(codes, [-1, codes.shape[-1]])
        if condition is not None:
            repeats = tf.shape(flat_codes)[0] // tf.maximum(tf.shape(condition)[0], 1)  # 0 rows: nothing to tile
            condition = tf.tile(condition, tf.concat([[repeats], tf.ones_like(tf.shape(condition)[1:])], 0))
        outputs = tf.cast(self.decoder(self.decoder_input(flat_codes, condition)), tf.float32)
        outputs = tf.reshape(outputs, tf.concat([leading, self.image_shape], 0))
        return tfd.Independent(LIKELIHOODS[self.likelihood_name].distribution(self, outputs),
                               reinterpreted_batch_ndims=len(self.image_shape))

    def log_likelihood(self, codes, images, condition=None):
        """log p(x | z) [...]: `likelihood(codes, condition).log_prob(images)` (fused for the Bernoulli,
        `bernoulli_log_prob`)."""
        return LIKELIHOODS[self.likelihood_name].log_prob(self.likelihood(codes, condition), images)

    def encode(self, images, condition=None):
        return self.posterior(images, condition).mean()

    def decode(self, codes, condition=None):
        return self.likelihood(codes, condition).mean()

    def encode_outputs(self, images, condition=None):
        q = self.posterior(images, condition)
        return {"code": q.mean(), "mean": q.mean(), "stddev": q.stddev()}

    def decode_outputs(self, codes, condition=None):
        return LIKELIHOODS[self.likelihood_name].decoded(self, self.likelihood(codes, condition))

    def posterior_means(self, images, condition=None):
        """{layer name: E_q[z | x] per image} of each stochastic layer (what metrics.active_units measures)."""
        return {"z": self.posterior(images, condition).mean()}

    def sample(self, num, seed, condition=None):
        """The means of p(x | z) of `num` prior draws z; stateless in the int seed [2]."""
        codes = tf.random.stateless_normal([num, self.latent_dim], seed=seed)
        return self.decode(codes, condition)

    def importance_terms(self, images, num_samples, seed, condition=None):
        """Draws z = mu + sigma * eps (eps ~ N(0, I), `num_samples` per image) and returns the log-densities.

        Returns a dict of [num_samples, batch] tensors log_px_z, log_pz, log_qz, and the posterior q.
        """
        q = self.posterior(images, condition)
        return self.terms_at(q, self.draw_codes(q, num_samples, seed), images, condition)

    @property
    def noise_dim(self):
        """Standard-normal numbers per posterior draw (`codes_at` maps them to codes)."""
        return self.latent_dim

    def noise_shape(self, q, num_samples):
        return tf.concat([[num_samples], tf.shape(q.mean())[:-1], [self.noise_dim]], 0)

    def draw_codes(self, q, num_samples, seed):
        """Codes [num_samples, batch, ...] from the posterior q, stateless in the int seed [2]."""
        return self.codes_at(q, tf.random.stateless_normal(self.noise_shape(q, num_samples), seed=seed))

    def codes_at(self, q, eps):
        """z = mu + sigma * eps for standard-normal eps [k, batch, noise_dim]."""
        return q.mean() + q.stddev() * eps

    def log_joint_terms(self, codes, images, condition=None):
        """(log p(x | z), log p(z)) [k, batch] at codes [k, batch, ...]."""
        return self.log_likelihood(codes, images, condition), self.prior().log_prob(codes)

    def log_posterior(self, q, codes, held=False):
        """log q(z | x) [k, batch] of codes drawn from q; `held`: with q's parameters held fixed (no gradient
        reaches them except through the codes)."""
        if held:
            q = tfd.MultivariateNormalDiag(tf.stop_gradient(q.mean()), tf.stop_gradient(q.stddev()))
        return q.log_prob(codes)

    def terms_at(self, q, codes, images, condition=None):
        """`importance_terms` at given codes [k, batch, ...] drawn from q."""
        log_px_z, log_pz = self.log_joint_terms(codes, images, condition)
        return {"log_px_z": log_px_z, "log_pz": log_pz, "log_qz": self.log_posterior(q, codes), "posterior": q}

    def kl_of(self, terms):
        """KL(q(z | x) || p(z)) of each image [batch]: exact for the Gaussian pair."""
        return tfd.kl_divergence(terms["posterior"], self.prior())

    def neg_elbo(self, images, condition=None):
        """-ELBO of each image [b] in nats: the decoder's cross-entropy averaged over ANOMALY_SCORE_SAMPLES
        posterior draws, plus KL(q(z | x) || p(z)). The draws' noise is fixed and shared by every image, so an
        image's score does not depend on the batch it comes in."""
        q = self.posterior(images, condition)
        eps = tf.random.stateless_normal([ANOMALY_SCORE_SAMPLES, 1, self.noise_dim], seed=[0, 0])
        terms = self.terms_at(q, self.codes_at(q, eps), images, condition)
        return -tf.reduce_mean(terms["log_px_z"], axis=0) + self.kl_of(terms)

    # name -> (description, score(model, images, condition)); higher = more anomalous. The PNG_SCORES set the
    # likelihood against the image's complexity (Serrà et al., 2020): a simple image (a 1) is likely under any model
    # of digits, so its -ELBO alone is low even when it is not of the normal class.
    ANOMALY_SCORES = {
        "neg_elbo": ("-ELBO in nats", lambda model, images, condition: model.neg_elbo(images, condition)),
        "neg_elbo_per_png_bit": (
            "-ELBO in nats per bit of the image's PNG encoding",
            lambda model, images, condition: model.neg_elbo(images, condition) / png_bits(images)),
        "neg_elbo_minus_png_nats": (
            "-ELBO minus the PNG encoding's length, both in nats (Serrà et al. 2020's S(x))",
            lambda model, images, condition: model.neg_elbo(images, condition) - math.log(2) * png_bits(images)),
        "neg_elbo_minus_weighted_png_nats": (
            "-ELBO minus complexity_weight times the PNG encoding's length, both in nats",
            lambda model, images, condition: (model.neg_elbo(images, condition)
                                              - model.complexity_weight * math.log(2) * png_bits(images))),
    }

    PNG_SCORES = ("neg_elbo_per_png_bit", "neg_elbo_minus_png_nats", "neg_elbo_minus_weighted_png_nats")

    @property
    def anomaly_scores(self):
        """The names in ANOMALY_SCORES that apply to this model's inputs: the PNG_SCORES to images in [0, 1] only."""
        png_images = len(self.image_shape) == 3 and self.image_shape[-1] <= 4 and self.bounded_inputs
        return tuple(name for name in self.ANOMALY_SCORES if png_images or name not in self.PNG_SCORES)

    @property
    def anomaly_score_description(self):
        description = self.ANOMALY_SCORES[self.anomaly_score_name][0]
        return description.replace("complexity_weight", f"{self.complexity_weight:.2f}")

    def named_anomaly_score(self, images, name, condition=None):
        """The anomaly score `name` (see ANOMALY_SCORES) of each image [b]."""
        return self.ANOMALY_SCORES[name][1](self, images, condition)

    def anomaly_score(self, images, condition=None):
        """The `score` endpoint: each image's score named by `anomaly_score_name` (-ELBO by default)."""
        return self.named_anomaly_score(images, self.anomaly_score_name, condition)

    def warmup_weight(self):
        """The weight (0 to 1) of the warm-up on the objective's latent terms at the current training step."""
        steps_done = tf.cast(self.optimizer.iterations, tf.float32)
        return tf.minimum(1.0, (steps_done + 1.0) / self.kl_warmup_steps)

    def compute_losses(self, images, training=False, condition=None):
        k = self.importance_samples
        q = self.posterior(images, condition)
        codes = self.codes_at(q, self.batch_noise(tf.random.stateless_normal, self.noise_shape(q, k), batch_axis=1))
        terms = self.terms_at(q, codes, images, condition)
        reconstruction = -tf.reduce_mean(terms["log_px_z"])
        kl = tf.reduce_mean(self.kl_of(terms))
        warming = training and self.kl_warmup_steps > 0
        latent_weight = self.beta * self.warmup_weight() if warming else self.beta
        log_weights = terms["log_px_z"] + latent_weight * (terms["log_pz"] - terms["log_qz"])
        if k == 1:
            loss = reconstruction + latent_weight * kl
        else:
            loss = -tf.reduce_mean(tf.reduce_logsumexp(log_weights, axis=0) - math.log(k))
        if training and self.gradient_estimator == "dreg":
            dreg = self.dreg_loss(loss, log_weights, q, codes, terms, images, condition)
            loss = tf.where(self.warmup_weight() < 1, loss, dreg) if warming else dreg
        return {"loss": loss, "reconstruction": reconstruction, "kl": kl}

    def dreg_loss(self, loss, log_weights, q, codes, terms, images, condition):
        """A loss with the value of `loss` (the negative bound) and the doubly reparameterized gradient: for the
        decoder sum_i w_i grad log p(x, z_i), the bound's own; for the encoder sum_i w_i^2 d log w_i / d z_i dz_i/dphi,
        with q's parameters held fixed inside log w_i (w_i the normalized importance weights, held fixed)."""
        weights = tf.stop_gradient(tf.nn.softmax(log_weights, axis=0))
        log_px_fixed, log_pz_fixed = self.log_joint_terms(tf.stop_gradient(codes), images, condition)
        log_joint_fixed = log_px_fixed + log_pz_fixed  # reaches the decoder only
        log_weights_path = terms["log_px_z"] + terms["log_pz"] - self.log_posterior(q, codes, held=True)
        # The decoder's gradients of the joint at codes and at fixed codes are equal (same z values): their
        # difference leaves the encoder's path gradient alone.
        surrogate = -tf.reduce_mean(tf.reduce_sum(weights * log_joint_fixed
                                                  + tf.square(weights) * (log_weights_path - log_joint_fixed), axis=0))
        return tf.stop_gradient(loss) + surrogate - tf.stop_gradient(surrogate)

    def reconstruction_error(self, images, condition=None):
        """-log p(x | z) at the posterior mean, per input [b] in nats (the decoder's cross-entropy for Bernoullis)."""
        return -self.log_likelihood(self.encode(images, condition), images, condition)

    def test_metric_name(self, name):
        return f"test_{name}_nats"

    def endpoints(self):
        return {**super().endpoints(), "score": self.score_endpoint(), "sample": self.sample_endpoint()}

    def get_config(self):
        config = super().get_config()
        config.update(
            latent_dim=self.latent_dim,
            arch=self.arch,
            hidden_units=list(self.hidden_units),
            beta=self.beta,
            importance_samples=self.importance_samples,
            gradient_estimator=self.gradient_estimator,
            anomaly_score_name=self.anomaly_score_name,
            complexity_weight=self.complexity_weight,
            kl_warmup_steps=self.kl_warmup_steps,
            likelihood=self.likelihood_name,
        )
        return config
