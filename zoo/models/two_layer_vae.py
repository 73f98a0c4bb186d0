"""A VAE with two stochastic layers, z1 -> z2 (Burda, Grosse & Salakhutdinov, 2016, "Importance Weighted
Autoencoders", section 5): p(x, z1, z2) = p(z2) p(z1 | z2) p(x | z1) and q(z1, z2 | x) = q(z1 | x) q(z2 | z1),
with Gaussian p(z1 | z2), q(z1 | x), q(z2 | z1) and the VAE's p(x | z1) (Bernoulli pixels by default), all TFP
distributions.

Everything else is the VAE's (ELBO or importance-weighted bound, the DReG gradient, scores, endpoints): a draw is
the pair (z1, z2) concatenated along the last axis. The endpoints' code is the bottom layer z1 (`bottom_latent_dim`),
the one that carries the image: `encode` gives the mean of q(z1 | x) as `code` (and the top layer's q(z2 | z1) at it
as `top_mean` and `top_stddev`), `decode` maps z1 to the means of p(x | z1), so `reconstruct` = decode(encode(x));
`sample` draws z2 ~ N(0, I) and then z1 ~ p(z1 | z2). (Through the mean of p(z1 | z2), a top code decodes to nearly
the same digit whatever the image: the trained p(z1 | z2) keeps what tells digits apart in its noise.)
"""

import keras
import tensorflow as tf

from zoo import nets
from zoo.models.vae import VAE
from zoo.registry import register


@register("two_layer_vae")
@keras.saving.register_keras_serializable("zoo")
class TwoLayerVAE(VAE):
    """VAE with stochastic layers z1 (next to the image) and z2 (the top code, N(0, I) prior).

    Args:
      latent_dim: size of the top code z2 (N(0, I) prior).
      bottom_latent_dim: size of z1 (the endpoints' code).
      hidden_units: widths of the networks between x and z1 (q(z1 | x) and p(x | z1), as the VAE's).
      top_hidden_units: widths of the MLPs between z1 and z2 (q(z2 | z1) and p(z1 | z2)).
      **kwargs: the VAE's arguments (arch applies to the networks between x and z1).
    """

    def __init__(self, latent_dim=32, bottom_latent_dim=64, top_hidden_units=(256, 256), **kwargs):
        if int(bottom_latent_dim) <= 0:
            raise ValueError(f"bottom_latent_dim must be a positive integer; received bottom_latent_dim={bottom_latent_dim}")
        if not top_hidden_units:
            raise ValueError("top_hidden_units needs at least one width; received none")
        self.bottom_latent_dim = int(bottom_latent_dim)
        self.top_hidden_units = tuple(int(units) for units in top_hidden_units)
        super().__init__(latent_dim=latent_dim, **kwargs)
        self.top_encoder = nets.encoder("mlp", (self.bottom_latent_dim,), 2 * self.latent_dim, self.top_hidden_units,
                                        name="top_encoder")
        self.top_decoder = nets.decoder("mlp", self.latent_dim, (2 * self.bottom_latent_dim,), self.top_hidden_units,
                                        name="top_decoder")

    def build_networks(self):
        """(encoder, decoder) between x and z1: inputs -> [mean, raw scale] of q(z1 | x), z1 -> the parameters of
        p(x | z1)."""
        return (nets.encoder(self.arch, self.image_shape, 2 * self.bottom_latent_dim, self.hidden_units),
                nets.decoder(self.arch, self.bottom_latent_dim, self.image_shape, self.hidden_units))

    @property
    def noise_dim(self):
        return self.bottom_latent_dim + self.latent_dim

    # posterior() is q(z1 | x); these are the conditionals between the layers, for z of shape [..., dim].
    def _conditional(self, network, codes, held=False):
        """The Gaussian `network` gives for codes [..., dim]; `held`: its weights held fixed (gradients reach the
        codes only)."""
        flat = tf.reshape(codes, [-1, codes.shape[-1]])
        if held:
            weights = [tf.stop_gradient(v) for v in network.trainable_variables]
            params, _ = network.stateless_call(weights, network.non_trainable_variables, flat)
        else:
            params = network(flat)
        return self.gaussian(tf.reshape(params, tf.concat([tf.shape(codes)[:-1], [params.shape[-1]]], 0)))

    def top_posterior(self, bottom_codes, held=False):
        """q(z2 | z1)."""
        return self._conditional(self.top_encoder, bottom_codes, held)

    def bottom_prior(self, top_codes):
        """p(z1 | z2)."""
        return self._conditional(self.top_decoder, top_codes)

    def split_codes(self, codes):
        return codes[..., :self.bottom_latent_dim], codes[..., self.bottom_latent_dim:]

    def codes_at(self, q, eps):
        """(z1, z2) concatenated: z1 = mu(x) + sigma(x) * eps1, z2 = mu(z1) + sigma(z1) * eps2."""
        eps_bottom, eps_top = self.split_codes(eps)
        bottom = q.mean() + q.stddev() * eps_bottom
        q_top = self.top_posterior(bottom)
        return tf.concat([bottom, q_top.mean() + q_top.stddev() * eps_top], axis=-1)

    def log_joint_terms(self, codes, images, condition=None):
        bottom, top = self.split_codes(codes)
        log_pz = self.prior().log_prob(top) + self.bottom_prior(top).log_prob(bottom)
        return self.log_likelihood(bottom, images, condition), log_pz

    def log_posterior(self, q, codes, held=False):
        bottom, top = self.split_codes(codes)
        return super().log_posterior(q, bottom, held) + self.top_posterior(bottom, held).log_prob(top)

    def kl_of(self, terms):
        """KL(q(z1, z2 | x) || p(z1, z2)) of each image [batch], estimated by the draws' mean log q - log p."""
        return tf.reduce_mean(terms["log_qz"] - terms["log_pz"], axis=0)

    @property
    def code_size(self):
        return self.bottom_latent_dim

    code_description = ("z1, the bottom stochastic layer: encode's code is the mean of q(z1 | x) and decode maps z1 "
                        "to pixels, so a slider over the code moves z1; the top layer z2 is encode's top_mean and "
                        "top_stddev (q(z2 | z1) at that z1), and sample draws z2 ~ N(0, I), then z1 ~ p(z1 | z2)")

    def encode_outputs(self, images, condition=None):
        """The bottom code z1 (q(z1 | x)) and the top layer's q(z2 | z1) at its mean."""
        q = self.posterior(images, condition)
        q_top = self.top_posterior(q.mean())
        return {"code": q.mean(), "mean": q.mean(), "stddev": q.stddev(), "top_mean": q_top.mean(),
                "top_stddev": q_top.stddev()}

    def posterior_means(self, images, condition=None, samples=64, seed=(0, 0)):
        """{"z1": E_q[z1 | x], "z2": E_q[z2 | x]} per image; E_q[z2 | x] = E_{z1 ~ q(z1 | x)}[mean of q(z2 | z1)],
        estimated from `samples` draws of z1 (stateless in `seed`)."""
        q = self.posterior(images, condition)
        bottom = q.sample(samples, seed=tf.constant(seed, tf.int32))
        return {"z1": q.mean(), "z2": tf.reduce_mean(self.top_posterior(bottom).mean(), axis=0)}

    def sample(self, num, seed, condition=None):
        """The means of p(x | z1) of `num` ancestral draws z2 ~ N(0, I), z1 ~ p(z1 | z2); stateless in the int
        seed [2]. z1 is drawn, not set to its mean: the trained p(z1 | z2) keeps much of what tells digits apart in its
        noise, and its means decode to nearly one digit."""
        top = tf.random.stateless_normal([num, self.latent_dim], seed=seed)
        p = self.bottom_prior(top)
        eps = tf.random.stateless_normal([num, self.bottom_latent_dim],
                                         seed=tf.random.experimental.stateless_fold_in(seed, 1))
        return self.likelihood(p.mean() + p.stddev() * eps, condition).mean()

    def get_config(self):
        config = super().get_config()
        config.update(bottom_latent_dim=self.bottom_latent_dim, top_hidden_units=list(self.top_hidden_units))
        return config
