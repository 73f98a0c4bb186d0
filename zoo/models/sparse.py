"""The sparse autoencoder (Ng, "Sparse autoencoder", CS294A lecture notes, 2011): sigmoid code units
pushed to be mostly inactive by the penalty beta * sum_l KL(rho || rho_hat_l), where rho_hat_l is the
mean activation of code unit l over the batch and KL is between Bernoullis with means rho and rho_hat_l.
"""

import keras
import tensorflow as tf

from zoo.models.ae import AE
from zoo.registry import register
from zoo.search_space import Float


def bernoulli_kl(rho, rho_hat):
    """KL(Bernoulli(rho) || Bernoulli(rho_hat)), elementwise; rho_hat is clipped away from 0 and 1."""
    rho_hat = tf.clip_by_value(rho_hat, 1e-6, 1.0 - 1e-6)
    return rho * tf.math.log(rho / rho_hat) + (1.0 - rho) * tf.math.log((1.0 - rho) / (1.0 - rho_hat))


@register("sparse_ae")
@keras.saving.register_keras_serializable("zoo")
class SparseAE(AE):
    """Autoencoder with sigmoid code units and a KL sparsity penalty towards a target mean activation rho.

    Metrics: those of `AE`, plus sparsity (the penalty) and mean_activation (over units and images).

    Args:
      rho: target mean activation of each code unit, in (0, 1).
      sparsity_weight: beta, the weight of the penalty (>= 0).
      latent_dim: number of code units; by default overcomplete relative to the other variants' 32,
        since the penalty, not the width, is what keeps the code from copying the input.
      **kwargs: the other arguments of `AE` (the code activation is always sigmoid).
    """

    loss_names = AE.loss_names + ("sparsity", "mean_activation")
    search_spaces = {**AE.search_spaces,
                     "rho": (Float("rho", 0.01, 0.3, sampling="log"), Float("sparsity_weight", 1.0, 30.0, sampling="log"))}

    def __init__(self, rho=0.05, sparsity_weight=10.0, latent_dim=256, **kwargs):
        if not 0 < rho < 1:
            raise ValueError(f"rho must be in (0, 1); received rho={rho}")
        if not sparsity_weight >= 0:
            raise ValueError(f"sparsity_weight must be >= 0; received sparsity_weight={sparsity_weight}")
        if kwargs.pop("code_activation", "sigmoid") != "sigmoid":
            raise ValueError("the code units of this model are sigmoid; code_activation cannot be changed")
        super().__init__(latent_dim=latent_dim, code_activation="sigmoid", **kwargs)
        self.rho = float(rho)
        self.sparsity_weight = float(sparsity_weight)

    def extra_terms(self, inputs, codes):
        rho_hat = self.batch_mean(codes)  # over the global batch, whatever the replicas
        sparsity = self.sparsity_weight * tf.reduce_sum(bernoulli_kl(self.rho, rho_hat))
        return {"sparsity": sparsity}, {"mean_activation": tf.reduce_mean(rho_hat)}

    def get_config(self):
        config = super().get_config()
        config.update(rho=self.rho, sparsity_weight=self.sparsity_weight)
        return config
