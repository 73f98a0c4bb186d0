"""The linear autoencoder, which learns PCA (Baldi & Hornik, 1989), and with an L2 penalty PCA's
principal directions themselves (Kunin, Bloom, Goeva & Seed, 2019, "Loss landscapes of regularized
linear autoencoders").

Inputs are centred by the training mean and the loss is the squared error averaged over the images
of a batch, which is the course's ||X_hat - W2 W1 X_hat||_F^2 with x_hat_ij = (x_ij - mean_j) / sqrt(m)
on each batch. Both maps are linear without biases. At the optimum the decoder's column space is the
top-k principal subspace (Eckart-Young); with lambda * (||W1||^2 + ||W2||^2) added, and lambda below
the k-th eigenvalue of the data covariance, the decoder's left singular vectors are the top-k
principal directions in order.
"""

import math

import keras
import tensorflow as tf

from zoo.models.ae import AE, mean_image
from zoo.registry import register


@register("linear_ae")
@keras.saving.register_keras_serializable("zoo")
class LinearAE(AE):
    """Linear autoencoder on centred inputs with squared error: PCA learned by gradient descent.

    Call `adapt(dataset)` before training to set the centring mean (the training core does).

    Args:
      latent_dim: k, the number of principal directions learned.
      l2: lambda of lambda * (||W_encoder||^2 + ||W_decoder||^2); > 0 orders the directions.
      **kwargs: image_shape, seed, standardize and keras.Model arguments.
    """

    FIXED = {"arch": "mlp", "hidden_units": (), "output_activation": "linear", "code_activation": "linear"}

    def __init__(self, latent_dim=32, l2=0.0, **kwargs):
        super().__init__(latent_dim=latent_dim, l2=l2, **self.FIXED, **kwargs)

    def build_networks(self):
        self.mean = self.add_weight(shape=self.image_shape, initializer="zeros", trainable=False, name="data_mean")
        pixels = math.prod(self.image_shape)
        encoder = keras.Sequential([keras.Input(self.image_shape), keras.layers.Flatten(),
                                    keras.layers.Dense(self.latent_dim, use_bias=False)], name="encoder")
        decoder = keras.Sequential([keras.Input((self.latent_dim,)), keras.layers.Dense(pixels, use_bias=False),
                                    keras.layers.Reshape(self.image_shape)], name="decoder")
        return encoder, decoder

    def initialize_from(self, dataset):
        """Sets the centring mean to the mean input of `dataset` (batches of inputs or of (inputs, labels))."""
        self.mean.assign(mean_image(dataset, self.images_of))

    def encode(self, images):
        return tf.cast(self.encoder(images - self.mean), tf.float32)

    def decode_raw(self, codes):
        return tf.cast(self.decoder(codes), tf.float32) + self.mean

    def decoder_matrix(self):
        """W2 as a [pixels, k] matrix: the reconstruction is mean + W2 @ code."""
        return tf.transpose(self.decoder.layers[0].kernel)

    def principal_components(self):
        """The decoder's left singular vectors, [pixels, k], by decreasing singular value.

        With l2 > 0 these are the top-k principal directions of the training data (up to sign).
        """
        _, left, _ = tf.linalg.svd(tf.cast(self.decoder_matrix(), tf.float64))
        return tf.cast(left, tf.float32)

    def get_config(self):
        config = super().get_config()
        for name in self.FIXED:
            config.pop(name)
        return config
