"""The conditional variational autoencoder (Sohn, Lee & Yan, 2015, "Learning Structured Output
Representation using Deep Conditional Generative Models"; Kingma et al., 2014, "Semi-supervised
learning with deep generative models"): the encoder q(z | x, y) and the decoder p(x | z, y) both see
the digit label y, so that `sample(num, seed, digit)` draws the digit asked for, with z carrying the
style.

The label enters as a one-hot vector: appended to the flattened image (mlp) or as `num_classes` constant
channels (conv) for the encoder, appended to z for the decoder. Everything else is the VAE's.
"""

import math

import keras
import tensorflow as tf

from zoo import nets, signatures
from zoo.models.vae import VAE
from zoo.registry import register


@register("cvae")
@keras.saving.register_keras_serializable("zoo")
class CVAE(VAE):
    """VAE conditioned on the class label; trains on (images, labels) batches of labels 0..num_classes - 1.

    Args:
      num_classes: the number of classes (10 digits for MNIST).
      **kwargs: the VAE's arguments.
    """

    takes_labels = True
    ENDPOINTS = ("encode", "decode", "reconstruct", "sample")

    def __init__(self, num_classes=10, **kwargs):
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be a positive integer; received num_classes={num_classes}")
        self.num_classes = int(num_classes)
        super().__init__(**kwargs)

    def build_networks(self):
        # The decoder first: its checks of the architecture name the input's own shape.
        decoder = nets.decoder(self.arch, self.latent_dim + self.num_classes, self.image_shape, self.hidden_units)
        if self.arch == "mlp":
            encoder_shape = (math.prod(self.image_shape) + self.num_classes,)
        else:
            encoder_shape = (*self.image_shape[:-1], self.image_shape[-1] + self.num_classes)
        return nets.encoder(self.arch, encoder_shape, 2 * self.latent_dim, self.hidden_units), decoder

    def checked_labels(self, labels):
        """Training labels once each is a class in 0..num_classes - 1 (another would be an all-zero condition)."""
        labels = tf.cast(labels, tf.int32)
        message = f"labels must be in 0..{self.num_classes - 1} (num_classes={self.num_classes}); found one outside"
        with tf.control_dependencies([tf.debugging.assert_non_negative(labels, message=message),
                                      tf.debugging.assert_less(labels, self.num_classes, message=message)]):
            return tf.identity(labels)

    def condition_of(self, labels):
        """The one-hot condition [b, num_classes] of integer labels [b]."""
        return tf.one_hot(tf.cast(labels, tf.int32), self.num_classes)

    def encoder_input(self, images, condition):
        if self.arch == "mlp":
            return tf.concat([tf.reshape(images, [tf.shape(images)[0], -1]), condition], axis=-1)
        height, width = self.image_shape[:2]
        return tf.concat([images, tf.tile(condition[:, None, None, :], [1, height, width, 1])], axis=-1)

    def decoder_input(self, codes, condition):
        return tf.concat([codes, condition], axis=-1)

    def losses_of(self, data, training=False):
        images, labels = data
        return self.compute_losses(images, training=training, condition=self.condition_of(self.checked_labels(labels)))

    def reconstruction(self, inputs):
        """Reconstruction of (images, labels)."""
        images, labels = inputs
        condition = self.condition_of(labels)
        return self.decode(self.encode(images, condition), condition)

    def sample(self, num, seed, digit=None):
        """The means of p(x | z, y) of `num` draws of the class `digit` (an int, or None for 0, 1, ... in turn);
        stateless in the int seed [2]."""
        labels = tf.range(num) % self.num_classes if digit is None else tf.fill([num], tf.cast(digit, tf.int32))
        return super().sample(num, seed, self.condition_of(labels))

    def endpoints(self):
        """The VAE's endpoints with the class ("digit") beside every input: digits int32 [b] (a scalar digit for
        sample). Digits outside 0..num_classes - 1, or not one per row, are refused; decode also takes one digit for
        every code."""
        inputs_spec, code_spec = self.inputs_spec(), signatures.code_spec(self.latent_dim)

        def checked_digits(digits, rows, broadcast=False):
            return signatures.checked_digits(digits, self.num_classes, rows, broadcast)

        def reconstruct(inputs, digits):
            return {"probs": self((self.checked_inputs(inputs), checked_digits(digits, tf.shape(inputs)[0])))}

        def encode(inputs, digits):
            condition = self.condition_of(checked_digits(digits, tf.shape(inputs)[0]))
            return self.encode_outputs(self.served_inputs(inputs), condition)

        def decode(code, digits):
            code = signatures.checked_codes(code)
            condition = self.condition_of(checked_digits(digits, tf.shape(code)[0], broadcast=True))
            return self.decode_outputs(code, condition)

        def sample(num, seed, digit):
            digit = signatures.checked_digits(digit[None], self.num_classes)[0]
            return self.sample_outputs(self.sample(signatures.checked_count(num), signatures.seed_pair(seed), digit))

        return {
            "reconstruct": signatures.Endpoint(reconstruct, (inputs_spec, signatures.DIGITS_SPEC)),
            "encode": signatures.Endpoint(encode, (inputs_spec, signatures.DIGITS_SPEC)),
            "decode": signatures.Endpoint(decode, (code_spec, signatures.DIGITS_SPEC)),
            "sample": signatures.Endpoint(sample, (signatures.NUM_SPEC, signatures.SEED_SPEC, signatures.DIGIT_SPEC)),
        }

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes)
        return config
