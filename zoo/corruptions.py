"""Corruptions of images, each stateless in a seed [2]: what the denoising autoencoder trains against and
what the masked-input measure feeds every autoencoder.

  masking:          each pixel set to 0 with probability q, kept with probability 1 - q
  gaussian:         x + sigma * eps, eps ~ N(0, 1) per pixel
  salt_and_pepper:  a fraction of the pixels set to 0 or 1 with equal probability
"""

import tensorflow as tf

from zoo.config import CORRUPTION_LEVELS, corruption_level_error


# Each corruption draws its noise through `noise(draw, shape, batch_axis=0)`, where `draw` is a stateless
# tf.random function (shape, seed): one seed's draw by default, the model's `batch_noise` in a training step.

def masking(images, level, noise):
    keep = noise(tf.random.stateless_uniform, tf.shape(images)) >= level
    return tf.where(keep, images, tf.zeros_like(images))


def gaussian(images, level, noise):
    return images + level * noise(tf.random.stateless_normal, tf.shape(images))


def salt_and_pepper(images, level, noise):
    draws = noise(tf.random.stateless_uniform, tf.concat([[2], tf.shape(images)], 0), 1)
    salt = tf.cast(draws[1] < 0.5, images.dtype)
    return tf.where(draws[0] < level, salt, images)


CORRUPTIONS = {"masking": masking, "gaussian": gaussian, "salt_and_pepper": salt_and_pepper}
assert set(CORRUPTIONS) == set(CORRUPTION_LEVELS), "zoo.config.CORRUPTION_LEVELS must name every corruption"


def check_corruption(corruption, level):
    """Raises ValueError unless `corruption` is known and `level` is valid for it."""
    if corruption not in CORRUPTIONS:
        raise ValueError(f"corruption must be one of {tuple(CORRUPTIONS)}; received corruption={corruption!r}")
    message = corruption_level_error(corruption, level)
    if message:
        raise ValueError(message)


def corrupt(images, corruption, level, seed=None, noise=None):
    """`images` corrupted by the named corruption at `level` (q, sigma or fraction); stateless in `seed`, or with
    its noise from `noise(draw, shape, batch_axis)` (e.g. ZooModel.batch_noise)."""
    check_corruption(corruption, level)
    if noise is None:
        def noise(draw, shape, batch_axis=0):
            return draw(shape, seed)
    return CORRUPTIONS[corruption](tf.convert_to_tensor(images, tf.float32), float(level), noise)
