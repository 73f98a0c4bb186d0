"""The contractive autoencoder (Rifai, Vincent, Muller, Glorot & Bengio, 2011): the penalty
lambda * ||J_x(h)||_F^2 on the Jacobian of the code with respect to the input makes the code
insensitive to small changes of the input.

For a one-layer sigmoid encoder h = sigmoid(W^T x + b) the penalty has the closed form
sum_j (h_j (1 - h_j))^2 * sum_i W_ij^2 per image. For deeper encoders it is estimated without bias:
||J||_F^2 = E_u ||J^T u||^2 with u ~ N(0, I) in code space, one vector-Jacobian product per draw,
which compiles under XLA (a full batch_jacobian recompiled on every step there and ran 7x slower without).
"""

import keras
import tensorflow as tf

from zoo.models.ae import AE
from zoo.registry import register


@register("contractive_ae")
@keras.saving.register_keras_serializable("zoo")
class ContractiveAE(AE):
    """Autoencoder with sigmoid code units and the penalty lambda * mean over images of ||dh/dx||_F^2.

    Metrics: those of `AE`, plus contraction (the penalty) and jacobian_sq_norm, the mean ||J||_F^2
    (exact for a one-layer encoder, an unbiased estimate otherwise).

    Args:
      contraction_weight: lambda (>= 0).
      jacobian_projections: random projections per image of the estimate used for deeper encoders.
      **kwargs: the other arguments of `AE` (the code activation is always sigmoid); with
        hidden_units=() and arch "mlp" the encoder is one sigmoid layer and the closed form is used.
    """

    loss_names = AE.loss_names + ("contraction", "jacobian_sq_norm")

    def __init__(self, contraction_weight=0.1, jacobian_projections=1, **kwargs):
        if not contraction_weight >= 0:
            raise ValueError(f"contraction_weight must be >= 0; received contraction_weight={contraction_weight}")
        if int(jacobian_projections) < 1:
            raise ValueError(f"jacobian_projections must be >= 1; received {jacobian_projections}")
        if kwargs.pop("code_activation", "sigmoid") != "sigmoid":
            raise ValueError("the code units of this model are sigmoid; code_activation cannot be changed")
        super().__init__(code_activation="sigmoid", **kwargs)
        self.contraction_weight = float(contraction_weight)
        self.jacobian_projections = int(jacobian_projections)

    @property
    def closed_form(self):
        return self.arch == "mlp" and not self.hidden_units

    def closed_form_jacobian_sq_norms(self, codes):
        """||J||_F^2 per image [b] for a one-layer sigmoid encoder with codes h: sum_j (h_j(1-h_j))^2 sum_i W_ij^2."""
        kernel = tf.cast(self.encoder.layers[-1].kernel, tf.float32)
        return tf.linalg.matvec(tf.square(codes * (1.0 - codes)), tf.reduce_sum(tf.square(kernel), axis=0))

    def estimated_jacobian_sq_norms(self, inputs):
        """(codes, unbiased estimates of ||J||_F^2 per image [b]) from random vector-Jacobian products."""
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(inputs)
            codes = self.encode(inputs)
            projections = [tf.reduce_sum(codes * self.batch_noise(tf.random.stateless_normal, tf.shape(codes)))
                           for _ in range(self.jacobian_projections)]
        # Images are encoded independently, so d(sum_b u_b . h_b)/dx_b = J_b^T u_b for each image b.
        estimates = [tf.reduce_sum(tf.reshape(tf.square(tape.gradient(projected, inputs)), [tf.shape(inputs)[0], -1]),
                                   axis=-1) for projected in projections]
        return codes, tf.add_n(estimates) / len(estimates)

    def encode_with_terms(self, inputs):
        """The codes, encoded once, and the penalty on their Jacobian (closed form or estimate)."""
        if self.closed_form:
            codes = self.encode(inputs)
            sq_norms = self.closed_form_jacobian_sq_norms(codes)
        else:
            codes, sq_norms = self.estimated_jacobian_sq_norms(inputs)
        mean_sq_norm = tf.reduce_mean(sq_norms)
        return codes, ({"contraction": self.contraction_weight * mean_sq_norm}, {"jacobian_sq_norm": mean_sq_norm})

    def get_config(self):
        config = super().get_config()
        config.update(contraction_weight=self.contraction_weight, jacobian_projections=self.jacobian_projections)
        return config
