"""The denoising autoencoder (Vincent, Larochelle, Bengio & Manzagol, 2008; Vincent et al., 2010):
trained to restore clean inputs from corrupted ones. Corruption happens only inside the training
step, never at inference; the loss compares the reconstruction with the clean input.

Corruptions, each stateless in a seed [2]:
  masking:          each pixel set to 0 with probability q, kept with probability 1 - q
  gaussian:         x + sigma * eps, eps ~ N(0, 1) per pixel
  salt_and_pepper:  a fraction of the pixels set to 0 or 1 with equal probability
"""

import keras
import tensorflow as tf

from zoo.config import CORRUPTION_LEVELS, corruption_level_error
from zoo.models.ae import AE
from zoo.registry import register


def masking(images, level, seed):
    keep = tf.random.stateless_uniform(tf.shape(images), seed) >= level
    return tf.where(keep, images, tf.zeros_like(images))


def gaussian(images, level, seed):
    return images + level * tf.random.stateless_normal(tf.shape(images), seed)


def salt_and_pepper(images, level, seed):
    draws = tf.random.stateless_uniform(tf.concat([[2], tf.shape(images)], 0), seed)
    salt = tf.cast(draws[1] < 0.5, images.dtype)
    return tf.where(draws[0] < level, salt, images)


CORRUPTIONS = {"masking": masking, "gaussian": gaussian, "salt_and_pepper": salt_and_pepper}
assert set(CORRUPTIONS) == set(CORRUPTION_LEVELS)


def corrupt(images, corruption, level, seed):
    """`images` corrupted by the named corruption at `level` (q, sigma or fraction); stateless in `seed`."""
    message = corruption_level_error(corruption, level)
    if message:
        raise ValueError(message)
    return CORRUPTIONS[corruption](tf.convert_to_tensor(images, tf.float32), float(level), seed)


@register("denoising_ae")
@keras.saving.register_keras_serializable("zoo")
class DenoisingAE(AE):
    """Autoencoder trained to reconstruct clean images from corrupted ones.

    Args:
      corruption: "masking", "gaussian" or "salt_and_pepper".
      noise_level: q for masking (in [0, 1)), sigma for gaussian (>= 0), the fraction for salt_and_pepper.
      **kwargs: the arguments of `AE`.
    """

    def __init__(self, corruption="masking", noise_level=0.5, **kwargs):
        if corruption not in CORRUPTIONS:
            raise ValueError(f"corruption must be one of {tuple(CORRUPTIONS)}; received corruption={corruption!r}")
        message = corruption_level_error(corruption, noise_level)
        if message:
            raise ValueError(message)
        super().__init__(**kwargs)
        self.corruption = corruption
        self.noise_level = float(noise_level)

    def corrupt(self, images, seed):
        """The training corruption applied to `images`, stateless in the int seed [2]."""
        return corrupt(images, self.corruption, self.noise_level, seed)

    def training_inputs(self, images):
        return self.corrupt(images, self.noise_seed())

    def get_config(self):
        config = super().get_config()
        config.update(corruption=self.corruption, noise_level=self.noise_level)
        return config
