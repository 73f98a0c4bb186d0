"""The plain Keras references of `benchmarks.training_speed`, written the keras-io way (their own `train_step`, the
zoo's layers and losses, `compile` with only the optimizer(s)), and the FLOP counts its rates are put against."""

import math

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from zoo import nets
from zoo.config import IMAGE_SHAPE
from zoo.models import gan

tfd = tfp.distributions
DIGITS = 10


class PlainModel(keras.Model):
    """What the keras-io references share: a Mean tracker per reported loss, a seed stream, one gradient step."""

    def __init__(self, *loss_names):
        super().__init__()
        self.trackers = [keras.metrics.Mean(name=name) for name in loss_names]
        self.seed_generator = keras.random.SeedGenerator(0)

    @property
    def metrics(self):
        return self.trackers

    @staticmethod
    def descend(tape, loss, variables, optimizer):
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

    def report(self, *losses):
        for tracker, loss in zip(self.trackers, losses):
            tracker.update_state(loss)
        return {tracker.name: tracker.result() for tracker in self.trackers}


class PlainAE(PlainModel):
    """The keras-io autoencoder: images -> code -> logits, binary cross-entropy summed over the pixels."""

    def __init__(self, encoder, decoder):
        super().__init__("loss")
        self.encoder, self.decoder = encoder, decoder

    def train_step(self, data):
        images, _ = data
        with tf.GradientTape() as tape:
            logits = self.decoder(self.encoder(images))
            pixel_losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=images, logits=logits)
            loss = tf.reduce_mean(tf.reduce_sum(pixel_losses, axis=[1, 2, 3]))
        self.descend(tape, loss, self.trainable_variables, self.optimizer)
        return self.report(loss)


class PlainVAE(PlainModel):
    """The keras-io VAE: encoder to (mean, raw scale), one reparameterized draw, Bernoulli decoder, -ELBO."""

    def __init__(self, encoder, decoder, latent_dim):
        super().__init__("loss")
        self.encoder, self.decoder, self.latent_dim = encoder, decoder, latent_dim

    def encoder_input(self, images, labels):
        return images

    def decoder_input(self, codes, labels):
        return codes

    def train_step(self, data):
        images, labels = data
        with tf.GradientTape() as tape:
            mean, raw_scale = tf.split(self.encoder(self.encoder_input(images, labels)), 2, axis=-1)
            posterior = tfd.MultivariateNormalDiag(mean, tf.nn.softplus(raw_scale) + 1e-5)
            codes = mean + posterior.stddev() * keras.random.normal(tf.shape(mean), seed=self.seed_generator)
            logits = self.decoder(self.decoder_input(codes, labels))
            likelihood = tfd.Independent(tfd.Bernoulli(logits=logits), reinterpreted_batch_ndims=3)
            prior = tfd.MultivariateNormalDiag(tf.zeros(self.latent_dim), tf.ones(self.latent_dim))
            loss = tf.reduce_mean(-likelihood.log_prob(images) + tfd.kl_divergence(posterior, prior))
        self.descend(tape, loss, self.trainable_variables, self.optimizer)
        return self.report(loss)


class PlainCVAE(PlainVAE):
    """The VAE above with the one-hot digit appended to the flattened image and to the code (mlp networks)."""

    def encoder_input(self, images, labels):
        return tf.concat([tf.reshape(images, [tf.shape(images)[0], -1]), tf.one_hot(labels, DIGITS)], axis=-1)

    def decoder_input(self, codes, labels):
        return tf.concat([codes, tf.one_hot(labels, DIGITS)], axis=-1)


class PlainGAN(PlainModel):
    """The keras-io DCGAN step with zoo.models.gan's losses: a discriminator update on the real batch and as many
    generated images, then a generator update on fresh codes with the non-saturating loss -log D(G(z))."""

    def __init__(self, generator, discriminator, latent_dim):
        super().__init__("d_loss", "g_loss")
        self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def fake_logits(self, count):
        codes = keras.random.normal((count, self.latent_dim), seed=self.seed_generator)
        return self.discriminator(tf.sigmoid(self.generator(codes, training=True)), training=True)[:, 0]

    def train_step(self, data):
        images, _ = data
        count = tf.shape(images)[0]
        with tf.GradientTape() as tape:  # log D(x) = -softplus(-logit), log(1 - D(x)) = -softplus(logit)
            real_logits, fake_logits = self.discriminator(images, training=True)[:, 0], self.fake_logits(count)
            d_loss = tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))
        self.descend(tape, d_loss, self.discriminator.trainable_variables, self.d_optimizer)
        with tf.GradientTape() as tape:
            g_loss = tf.reduce_mean(tf.nn.softplus(-self.fake_logits(count)))
        self.descend(tape, g_loss, self.generator.trainable_variables, self.g_optimizer)
        return self.report(d_loss, g_loss)


def autoencoder_networks(config, output_dim, condition_dim=0):
    """(encoder, decoder) as the zoo model's build_networks makes them; with a condition (the CVAE's one-hot digit,
    mlp only) the encoder takes it beside the flattened image and the decoder beside the code."""
    if condition_dim and config.arch != "mlp":
        raise ValueError(f"the plain conditional reference is written for the mlp networks; received {config.arch!r}")
    encoder_shape = (math.prod(IMAGE_SHAPE) + condition_dim,) if condition_dim else IMAGE_SHAPE
    return (nets.encoder(config.arch, encoder_shape, output_dim, config.hidden_units),
            nets.decoder(config.arch, config.latent_dim + condition_dim, IMAGE_SHAPE, config.hidden_units))


def adam_compiled(model, config):
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
    return model


def plain_ae(config):
    return adam_compiled(PlainAE(*autoencoder_networks(config, config.latent_dim)), config)


def plain_vae(config):
    return adam_compiled(PlainVAE(*autoencoder_networks(config, 2 * config.latent_dim), config.latent_dim), config)


def plain_cvae(config):
    networks = autoencoder_networks(config, 2 * config.latent_dim, DIGITS)
    return adam_compiled(PlainCVAE(*networks, config.latent_dim), config)


def plain_gan(config):
    model = PlainGAN(gan._generator(config.latent_dim, IMAGE_SHAPE, config.filters),
                     gan._discriminator(IMAGE_SHAPE, config.filters), config.latent_dim)
    # The zoo's players both use Adam with beta_1 = 0.5 (DCGAN); the same optimizers here.
    model.compile(d_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=0.5),
                  g_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=0.5))
    return model


def forward_flops(network):
    """FLOPs of one image's forward pass through the Dense, Conv2D and Conv2DTranspose layers of `network` (the rest,
    activations, normalization and losses, is left out): 2 x in x out per Dense layer; 2 x kh x kw x in_ch x out_ch
    per output position of a Conv2D; the same per *input* position of a Conv2DTranspose, where each input pixel is
    multiplied into a kh x kw x out_ch patch (counting its output positions would count stride^2 times its work)."""
    total = 0
    for layer in network._flatten_layers():
        if isinstance(layer, keras.layers.Dense):
            total += 2 * math.prod(layer.kernel.shape)
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            total += 2 * math.prod(layer.kernel.shape) * math.prod(layer.input.shape[1:3])
        elif isinstance(layer, keras.layers.Conv2D):
            total += 2 * math.prod(layer.kernel.shape) * math.prod(layer.output.shape[1:3])
    return total


def training_flops_per_image(model):
    """Dense and conv FLOPs of one training step per image of the batch. A backward pass costs twice the forward
    (gradients of the inputs and of the weights), so an autoencoder's step is 3 x its forward pass.

    A GAN step (zoo.models.gan.GAN.train_step) runs per image: in the discriminator update, G forward once (the
    generated image; no gradient flows into G) and D forward and backward on the real and on the generated image
    (2 x 3 x D); in the generator update, G forward and backward (3 x G) and D forward and backward to its input
    only, as D's weight gradients are not asked for (2 x D). In all 4 x G + 8 x D (slightly high: the backward pass
    on the real image needs no gradient of D's input)."""
    if isinstance(model, gan.GAN):
        return 4 * forward_flops(model.generator) + 8 * forward_flops(model.discriminator)
    return 3 * forward_flops(model)
