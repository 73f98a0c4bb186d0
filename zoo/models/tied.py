"""The tied-weight autoencoder: the decoder uses the transposes of the encoder's weight matrices
(as in RBM-style autoencoders, e.g. Vincent et al., 2010), halving the kernels to learn.

Each decoder layer is x -> act(x @ W^T + c) with W the kernel of the mirrored encoder layer (the very
same variable, not a copy) and c a bias of its own.
"""

import math

import keras
import tensorflow as tf

from zoo import nets
from zoo.models.ae import AE
from zoo.registry import register


@register("tied_ae")
@keras.saving.register_keras_serializable("zoo")
class TiedAE(AE):
    """Dense autoencoder whose decoder kernels are the transposed encoder kernels; only biases are its own.

    Args: those of `AE`, with arch "mlp" only.
    """

    def __init__(self, arch="mlp", **kwargs):
        if arch != "mlp":
            raise ValueError(f"tied weights need dense layers: arch must be 'mlp'; received arch={arch!r}")
        super().__init__(arch=arch, **kwargs)

    def build_networks(self):
        encoder = nets.encoder("mlp", self.image_shape, self.latent_dim, self.hidden_units)
        self.tied_layers = [layer for layer in encoder.layers if isinstance(layer, keras.layers.Dense)][::-1]
        widths = (*self.hidden_units[::-1], math.prod(self.image_shape))
        self.decoder_biases = [self.add_weight(shape=(width,), initializer="zeros", name=f"decoder_bias_{i}")
                               for i, width in enumerate(widths)]
        return encoder, None

    def output_bias(self):
        return self.decoder_biases[-1]

    def decode_raw(self, codes):
        hidden = codes
        for index, (layer, bias) in enumerate(zip(self.tied_layers, self.decoder_biases)):
            hidden = tf.matmul(hidden, tf.cast(layer.kernel, hidden.dtype), transpose_b=True) + bias
            if index < len(self.tied_layers) - 1:
                hidden = tf.nn.relu(hidden)
        return tf.reshape(hidden, [-1, *self.image_shape])
