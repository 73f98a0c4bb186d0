"""Loss terms shared by several models and measures: per-image reconstruction errors and the L2 penalty."""

import tensorflow as tf


def per_image_error(output_activation, images, raw):
    """Reconstruction error of each image [b], summed over pixels: binary cross-entropy in nats from logits
    (`output_activation="sigmoid"`, `raw` = logits), or squared error (`"linear"`, `raw` = the reconstruction)."""
    if output_activation == "sigmoid":
        pixel_errors = tf.nn.sigmoid_cross_entropy_with_logits(labels=images, logits=raw)
    else:
        pixel_errors = tf.square(images - raw)
    return tf.reduce_sum(tf.reshape(pixel_errors, [tf.shape(images)[0], -1]), axis=-1)


def l2_penalty(kernels, weight):
    """weight * sum of the squared entries of `kernels` (a float32 scalar; 0 without computing when weight = 0)."""
    if weight == 0 or not kernels:
        return tf.constant(0.0)
    return weight * tf.add_n([tf.reduce_sum(tf.square(tf.cast(kernel, tf.float32))) for kernel in kernels])


def png_bits(images):
    """Each image's complexity [b]: the length in bits of its lossless PNG encoding (8-bit grayscale, zlib level 9),
    the compressor of Serrà et al., 2020 ("Input complexity and out-of-distribution detection with likelihood-based
    generative models"). A TensorFlow op, so an exported score can use it. `images` [b, h, w, 1] in [0, 1]."""
    pixels = tf.cast(tf.round(tf.clip_by_value(tf.cast(images, tf.float32), 0.0, 1.0) * 255.0), tf.uint8)
    lengths = tf.map_fn(lambda image: tf.strings.length(tf.io.encode_png(image, compression=9)), pixels,
                        fn_output_signature=tf.int32)
    return 8.0 * tf.cast(lengths, tf.float32)
