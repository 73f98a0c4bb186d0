"""Corruptions of images, each stateless in a seed [2]: what the denoising autoencoder trains against and
what the masked-input measure feeds every autoencoder.

  masking:          each pixel set to 0 with probability q, kept with probability 1 - q
  gaussian:         clip(x + sigma * eps, 0, 1), eps ~ N(0, 1) per pixel (images stay in [0, 1])
  salt_and_pepper:  a fraction of the pixels set to 0 or 1 with equal probability
  mixed:            for a restorer that is not told the corruption: each image gets one of masking (q uniform
                    in [0, level]), gaussian (sigma uniform in [0, level]), a BLOCK_SIZE x BLOCK_SIZE block set
                    to 0 at a uniform position, or its bottom half set to 0, each kind with probability 1/4
"""

import itertools

import tensorflow as tf

from zoo.config import CORRUPTION_LEVELS, noise_level_problem


# Each corruption draws its noise through `noise(draw, shape, batch_axis=0)`, where `draw` is a stateless
# tf.random function (shape, seed): one seed's draw by default, the model's `batch_noise` in a training step.

def masking(images, level, noise):
    keep = noise(tf.random.stateless_uniform, tf.shape(images)) >= level
    return tf.where(keep, images, tf.zeros_like(images))


def gaussian(images, level, noise):
    return tf.clip_by_value(images + level * noise(tf.random.stateless_normal, tf.shape(images)), 0.0, 1.0)


def salt_and_pepper(images, level, noise):
    draws = noise(tf.random.stateless_uniform, tf.concat([[2], tf.shape(images)], 0), 1)
    salt = tf.cast(draws[1] < 0.5, images.dtype)
    return tf.where(draws[0] < level, salt, images)


BLOCK_SIZE = 12  # the missing block of `mixed` and of zoo.restore's "missing block" row


def mixed(images, level, noise):
    shape = tf.shape(images)
    count, height, width = shape[0], shape[1], shape[2]

    def per_image(values):
        return tf.reshape(values, [-1, 1, 1, 1])

    kind = per_image(tf.cast(noise(tf.random.stateless_uniform, [count]) * 4, tf.int32))
    strength = per_image(level * noise(tf.random.stateless_uniform, [count]))
    masked, noisy = masking(images, strength, noise), gaussian(images, strength, noise)
    corner = noise(tf.random.stateless_uniform, [count, 2])
    top = per_image(tf.cast(corner[:, 0] * tf.cast(height - BLOCK_SIZE + 1, tf.float32), tf.int32))
    left = per_image(tf.cast(corner[:, 1] * tf.cast(width - BLOCK_SIZE + 1, tf.float32), tf.int32))
    rows, columns = tf.reshape(tf.range(height), [1, -1, 1, 1]), tf.reshape(tf.range(width), [1, 1, -1, 1])
    in_block = (rows >= top) & (rows < top + BLOCK_SIZE) & (columns >= left) & (columns < left + BLOCK_SIZE)
    blocked = tf.where(in_block, tf.zeros_like(images), images)
    halved = tf.where(rows >= height // 2, tf.zeros_like(images), images)
    return tf.where(kind == 0, masked, tf.where(kind == 1, noisy, tf.where(kind == 2, blocked, halved)))


CORRUPTIONS = {"masking": masking, "gaussian": gaussian, "salt_and_pepper": salt_and_pepper, "mixed": mixed}
assert set(CORRUPTIONS) == set(CORRUPTION_LEVELS), "zoo.config.CORRUPTION_LEVELS must name every corruption"


def check_corruption(corruption, level):
    """Raises ValueError unless `corruption` is known and `level` is valid for it."""
    if corruption not in CORRUPTIONS:
        raise ValueError(f"corruption must be one of {tuple(CORRUPTIONS)}; received corruption={corruption!r}")
    message = noise_level_problem(str, corruption, level)
    if message:
        raise ValueError(message)


def corrupt(images, corruption, level, seed=None, noise=None):
    """`images` corrupted by the named corruption at `level` (q, sigma or fraction); stateless in `seed`, or with
    its noise from `noise(draw, shape, batch_axis)` (e.g. ZooModel.batch_noise)."""
    check_corruption(corruption, level)
    if noise is None:
        calls = itertools.count()

        def noise(draw, shape, batch_axis=0):  # each draw of a corruption from its own seed, the first from `seed`
            call = next(calls)
            return draw(shape, seed if call == 0 else tf.random.experimental.stateless_fold_in(seed, call))
    return CORRUPTIONS[corruption](tf.convert_to_tensor(images, tf.float32), float(level), noise)
