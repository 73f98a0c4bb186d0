"""The generative adversarial network (Goodfellow et al., 2014) with DCGAN-style convolutional networks
sized for MNIST (Radford, Metz & Chintala, 2016).

The course's cost is C(D, G) = mean log D(x) + mean log(1 - D(G(z))): the discriminator ascends it and
the generator descends it. By default the generator instead maximizes mean log D(G(z)) (the
non-saturating loss of the same paper, standard practice because log(1 - D(G(z))) has vanishing
gradients while D rejects the samples); `non_saturating=False` gives the minimax generator loss.

What makes GANs train well, each an option: the hinge loss (Lim & Ye, 2017; Miyato et al., 2018), spectral
normalization of the discriminator's layers (Miyato et al., 2018), two learning rates (TTUR, Heusel et al., 2017)
and an exponential moving average of the generator's weights (Yazıcı et al., 2019), which `generate` serves.
"""

import keras
import tensorflow as tf

from zoo import config, signatures
from zoo.models.base import ZooModel
from zoo.registry import register


def _unnormalized(layer):
    return layer


def _batch_norm():
    # Batch statistics over the global batch under tf.distribute (one device: the same as unsynchronized).
    return keras.layers.BatchNormalization(synchronized=True)


def _discriminator_block(convolution, normalized, batch_norm):
    """A discriminator convolution (`normalized`: spectral normalization or not), batch norm if asked, LeakyReLU."""
    return [normalized(convolution), *([_batch_norm()] if batch_norm else []), keras.layers.LeakyReLU(0.2)]


def _refinements(count, channels, generator, normalized=_unnormalized, batch_norm=False):
    """`count` 3x3 stride-1 convolutions keeping `channels`, as deeper DCGAN variants add at each resolution:
    BatchNorm + ReLU in the generator, the discriminator's block (`_discriminator_block`) in the discriminator."""
    layers = []
    for _ in range(count):
        if generator:
            layers += [keras.layers.Conv2D(channels, 3, padding="same", use_bias=False), _batch_norm(),
                       keras.layers.ReLU()]
        else:
            layers += _discriminator_block(keras.layers.Conv2D(channels, 3, padding="same"), normalized, batch_norm)
    return layers


def _generator(latent_dim, image_shape, filters, refinement_convs):
    height, width, channels = image_shape
    return keras.Sequential([
        keras.Input((latent_dim,)),
        keras.layers.Dense(height // 4 * width // 4 * filters * 2, use_bias=False),
        _batch_norm(),
        keras.layers.ReLU(),
        keras.layers.Reshape((height // 4, width // 4, filters * 2)),
        *_refinements(refinement_convs, filters * 2, generator=True),
        keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False),
        _batch_norm(),
        keras.layers.ReLU(),
        *_refinements(refinement_convs, filters, generator=True),
        keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same"),  # logits of the pixels
    ], name="generator")


def _discriminator(image_shape, filters, spectral_norm, refinement_convs, batch_norm):
    """DCGAN's discriminator; with `batch_norm`, batch normalization after every convolution but the first (as
    Radford et al. do: normalizing the input layer made their samples oscillate)."""
    normalized = keras.layers.SpectralNormalization if spectral_norm else _unnormalized
    return keras.Sequential([
        keras.Input(image_shape),
        *_discriminator_block(keras.layers.Conv2D(filters, 4, strides=2, padding="same"), normalized, False),
        *_refinements(refinement_convs, filters, False, normalized, batch_norm),
        *_discriminator_block(keras.layers.Conv2D(filters * 2, 4, strides=2, padding="same"), normalized, batch_norm),
        *_refinements(refinement_convs, filters * 2, False, normalized, batch_norm),
        keras.layers.Flatten(),
        normalized(keras.layers.Dense(1)),  # logit of D(x)
    ], name="discriminator")


class _Scaled(keras.optimizers.schedules.LearningRateSchedule):
    """A learning rate (a number or a schedule) times a factor."""

    def __init__(self, learning_rate, factor):
        self.learning_rate, self.factor = learning_rate, factor

    def __call__(self, step):
        rate = self.learning_rate(step) if callable(self.learning_rate) else self.learning_rate
        return rate * self.factor


@register("gan")
@keras.saving.register_keras_serializable("zoo")
class GAN(ZooModel):
    """GAN with its own `compile(d_optimizer, g_optimizer)` and a `train_step` alternating the players.

    Each step: one discriminator update on a real batch and as many generated images, then one generator
    update on fresh codes. Metrics: d_loss (= -C on the batch), g_loss, d_real = mean D(x),
    d_fake = mean D(G(z)), and value = C(D, G) itself, in nats.

    Args:
      latent_dim: size of the code z ~ N(0, I).
      filters: width of the first discriminator layer and last generator layer (the others double it).
      refinement_convs: 3x3 stride-1 convolutions added at each of the two inner resolutions of both networks
        (7x7 and 14x14 on MNIST); 0 keeps the course's networks.
      non_saturating: the generator maximizes log D(G(z)) (True) or minimizes log(1 - D(G(z))) (False).
      hinge: the hinge loss instead: D minimizes mean relu(1 - D(x)) + mean relu(1 + D(G(z))) on logits, G minimizes
        -mean D(G(z)) (the reported value stays C(D, G)).
      spectral_norm: spectral normalization of every discriminator layer.
      discriminator_batch_norm: batch normalization after every discriminator convolution but the first (DCGAN's
        discriminator); real and generated images go through D in separate batches, as in DCGAN.
      ema_decay: if > 0, `generate` serves an exponential moving average of the generator's weights with this decay.
      discriminator_lr_ratio: the discriminator's learning rate over the generator's (TTUR; 1 = one rate).
      image_shape, seed: as for the autoencoders (images [H, W, C] whose sides 4 divides, pixels in [0, 1]).
    """

    loss_names = ("d_loss", "g_loss", "d_real", "d_fake", "value")
    ENDPOINTS = ("generate", "sample")
    serving_endpoint = "generate"
    samples_title = "generated from z ~ N(0, I)"

    def __init__(self, latent_dim=64, filters=64, non_saturating=True, hinge=False, spectral_norm=False, ema_decay=0.0,
                 discriminator_lr_ratio=1.0, refinement_convs=0, discriminator_batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        if int(latent_dim) <= 0:
            raise ValueError(f"latent_dim must be a positive integer; received latent_dim={latent_dim}")
        if not 0 <= ema_decay < 1:
            raise ValueError(f"ema_decay must be in [0, 1); received ema_decay={ema_decay}")
        if discriminator_lr_ratio <= 0:
            raise ValueError(f"discriminator_lr_ratio must be > 0; received discriminator_lr_ratio={discriminator_lr_ratio}")
        # The generator doubles a side twice from a quarter of it; its sigmoid output is pixels in [0, 1].
        problem = config.conv_shape_problem(self.image_shape, "the GAN", "another model (the GAN is convolutional)",
                                            divisor=4)
        if problem:
            raise ValueError(problem)
        self.latent_dim, self.filters, self.non_saturating = int(latent_dim), int(filters), bool(non_saturating)
        self.hinge, self.spectral_norm, self.ema_decay = bool(hinge), bool(spectral_norm), float(ema_decay)
        if int(refinement_convs) < 0:
            raise ValueError(f"refinement_convs must be >= 0; received refinement_convs={refinement_convs}")
        self.discriminator_lr_ratio, self.refinement_convs = float(discriminator_lr_ratio), int(refinement_convs)
        self.discriminator_batch_norm = bool(discriminator_batch_norm)
        self.generator = self._new_generator()
        self.discriminator = _discriminator(self.image_shape, self.filters, self.spectral_norm, self.refinement_convs,
                                            self.discriminator_batch_norm)
        self.ema_generator = None
        if self.ema_decay:
            self.ema_generator = self._new_generator()
            self.ema_generator.trainable = False
            self.ema_generator.set_weights(self.generator.get_weights())
        self.built = True

    def _new_generator(self):
        return _generator(self.latent_dim, self.image_shape, self.filters, self.refinement_convs)

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        super().compile(**kwargs)
        defaults = self.training_optimizers(2e-4)
        self.d_optimizer = self._loss_scaled(d_optimizer or defaults["d_optimizer"])
        self.g_optimizer = self._loss_scaled(g_optimizer or defaults["g_optimizer"])

    def _loss_scaled(self, optimizer):
        """Under mixed_float16 the players' optimizers scale their losses (Keras wraps only `self.optimizer`)."""
        if self.dtype_policy.name == "mixed_float16" and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return keras.optimizers.LossScaleOptimizer(optimizer)
        return optimizer

    def get_compile_config(self):
        return None  # two optimizers: a loaded model is compiled anew by whoever trains it

    def training_optimizers(self, learning_rate):
        """The `compile` arguments of the training core: Adam with beta_1 = 0.5 for both players (DCGAN), the
        discriminator's rate `discriminator_lr_ratio` times the generator's `learning_rate`."""
        d_rate = learning_rate if self.discriminator_lr_ratio == 1 else _Scaled(learning_rate, self.discriminator_lr_ratio)
        return {"d_optimizer": keras.optimizers.Adam(d_rate, beta_1=0.5),
                "g_optimizer": keras.optimizers.Adam(learning_rate, beta_1=0.5)}

    def build_optimizers(self):
        for optimizer, variables in ((self.d_optimizer, self.discriminator.trainable_variables),
                                     (self.g_optimizer, self.generator.trainable_variables)):
            if not optimizer.built:
                optimizer.build(variables)

    def generate(self, codes, training=False):
        """Images in [0, 1] for codes [b, latent_dim]; outside training, from the moving average of the weights if
        the model keeps one."""
        generator = self.ema_generator if self.ema_generator is not None and not training else self.generator
        return tf.sigmoid(tf.cast(generator(codes, training=training), tf.float32))

    def update_moving_average(self):
        for average, weights in zip(self.ema_generator.weights, self.generator.weights):
            average.assign(self.ema_decay * average + (1 - self.ema_decay) * tf.cast(weights, average.dtype))

    def call(self, codes, training=False):
        return self.generate(codes, training=training)

    def sample(self, num, seed):
        """`num` generated images, stateless in the int seed [2]."""
        return self.generate(tf.random.stateless_normal([num, self.latent_dim], seed=seed))

    def endpoints(self):
        generate = signatures.Endpoint(lambda code: {"images": self.generate(signatures.checked_codes(code))},
                                       (signatures.code_spec(self.latent_dim),))
        return {"generate": generate, "sample": self.sample_endpoint()}

    def _codes(self, count):
        return self.batch_noise(tf.random.stateless_normal, [count, self.latent_dim])

    def _logits(self, images, training):
        return tf.cast(self.discriminator(images, training=training), tf.float32)[:, 0]

    def discriminator_terms(self, images, training):
        fake = self.generate(self._codes(tf.shape(images)[0]), training=training)
        real_logits, fake_logits = self._logits(images, training), self._logits(fake, training)
        # log D(x) = -softplus(-logit), log(1 - D(x)) = -softplus(logit)
        value = tf.reduce_mean(-tf.nn.softplus(-real_logits)) + tf.reduce_mean(-tf.nn.softplus(fake_logits))
        d_loss = (tf.reduce_mean(tf.nn.relu(1 - real_logits)) + tf.reduce_mean(tf.nn.relu(1 + fake_logits))
                  if self.hinge else -value)
        return {"d_loss": d_loss, "value": value, "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
                "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits))}

    def generator_loss(self, count, training):
        fake_logits = self._logits(self.generate(self._codes(count), training=training), training)
        if self.hinge:
            return -tf.reduce_mean(fake_logits)
        if self.non_saturating:
            return tf.reduce_mean(tf.nn.softplus(-fake_logits))  # -log D(G(z))
        return -tf.reduce_mean(tf.nn.softplus(fake_logits))     # log(1 - D(G(z)))

    def train_step(self, data):
        images = self.images_of(data)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync  # gradients are summed over replicas
        critic, generator = self.discriminator.trainable_variables, self.generator.trainable_variables
        with tf.GradientTape() as tape:
            terms = self.discriminator_terms(images, training=True)
            objective = self.d_optimizer.scale_loss(terms["d_loss"] / replicas)
        self.d_optimizer.apply(tape.gradient(objective, critic), critic)
        with tf.GradientTape() as tape:
            terms["g_loss"] = self.generator_loss(tf.shape(images)[0], training=True)
            objective = self.g_optimizer.scale_loss(terms["g_loss"] / replicas)
        self.g_optimizer.apply(tape.gradient(objective, generator), generator)
        if self.ema_generator is not None:
            self.update_moving_average()
        return self._track(terms)

    def losses_of(self, data, training=False):
        images = self.images_of(data)
        terms = self.discriminator_terms(images, training=training)
        terms["g_loss"] = self.generator_loss(tf.shape(images)[0], training=training)
        return terms

    def failure(self, logs):
        """A message when an epoch's logs show the discriminator has won outright, else None."""
        if logs.get("d_real", 0.0) > 0.99 and logs.get("d_fake", 1.0) < 0.01:
            return (f"the discriminator won outright (mean D(x) = {logs['d_real']:.3f}, mean D(G(z)) = "
                    f"{logs['d_fake']:.4f}): the generator gets no useful gradient")
        return None

    def get_config(self):
        config = super().get_config()
        config.update(latent_dim=self.latent_dim, filters=self.filters, non_saturating=self.non_saturating,
                      hinge=self.hinge, spectral_norm=self.spectral_norm, ema_decay=self.ema_decay,
                      discriminator_lr_ratio=self.discriminator_lr_ratio, refinement_convs=self.refinement_convs,
                      discriminator_batch_norm=self.discriminator_batch_norm)
        return config
