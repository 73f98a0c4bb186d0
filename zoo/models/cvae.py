"""The conditional variational autoencoder (Sohn, Lee & Yan, 2015, "Learning Structured Output
Representation using Deep Conditional Generative Models"; Kingma et al., 2014, "Semi-supervised
learning with deep generative models"): the encoder q(z | x, y) and the decoder p(x | z, y) both see
the digit label y, so that `sample(num, seed, digit)` draws the digit asked for, with z carrying the
style.

The label enters as a one-hot vector: appended to the flattened image (mlp) or as ten constant
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
    """VAE conditioned on the class label; trains on (images, labels) batches. Arguments are the VAE's."""

    takes_labels = True
    num_classes = 10
    ENDPOINTS = ("encode", "decode", "reconstruct", "sample")

    def build_networks(self):
        if self.arch == "mlp":
            encoder_shape = (math.prod(self.image_shape) + self.num_classes,)
        else:
            encoder_shape = (*self.image_shape[:-1], self.image_shape[-1] + self.num_classes)
        return (nets.encoder(self.arch, encoder_shape, 2 * self.latent_dim, self.hidden_units),
                nets.decoder(self.arch, self.latent_dim + self.num_classes, self.image_shape, self.hidden_units))

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
        return self.compute_losses(images, training=training, condition=self.condition_of(labels))

    def call(self, inputs, training=False):
        """Reconstruction of (images, labels)."""
        images, labels = inputs
        condition = self.condition_of(labels)
        return self.decode(self.encode(images, condition), condition)

    def sample(self, num, seed, digit=None):
        """Bernoulli means of `num` draws of the digit `digit` (an int, or None for 0, 1, ..., 9 in turn);
        stateless in the int seed [2]."""
        labels = tf.range(num) % self.num_classes if digit is None else tf.fill([num], tf.cast(digit, tf.int32))
        return super().sample(num, seed, self.condition_of(labels))

    def endpoints(self):
        """The VAE's endpoints with the digit beside every input: digits int32 [b] (a scalar digit for sample).
        Digits outside 0..9, or not one per row, are refused; decode also takes one digit for every code."""
        images_spec, code_spec = signatures.images_spec(self.image_shape), signatures.code_spec(self.latent_dim)

        def condition(digits, rows, broadcast=False):
            return self.condition_of(signatures.checked_digits(digits, self.num_classes, rows, broadcast))

        def reconstruct(images, digits):
            images = signatures.checked_images(images)
            labels = condition(digits, tf.shape(images)[0])
            return {"probs": self.decode(self.encode(images, labels), labels)}

        def encode(images, digits):
            images = signatures.checked_images(images)
            return self.encode_outputs(images, condition(digits, tf.shape(images)[0]))

        def decode(code, digits):
            code = signatures.checked_codes(code)
            return self.decode_outputs(code, condition(digits, tf.shape(code)[0], broadcast=True))

        def sample(num, seed, digit):
            digit = signatures.checked_digits(digit[None], self.num_classes)[0]
            return {"images": self.sample(signatures.checked_count(num), signatures.seed_pair(seed), digit)}

        return {
            "reconstruct": signatures.Endpoint(reconstruct, (images_spec, signatures.DIGITS_SPEC)),
            "encode": signatures.Endpoint(encode, (images_spec, signatures.DIGITS_SPEC)),
            "decode": signatures.Endpoint(decode, (code_spec, signatures.DIGITS_SPEC)),
            "sample": signatures.Endpoint(sample, (signatures.NUM_SPEC, signatures.SEED_SPEC, signatures.DIGIT_SPEC)),
        }
