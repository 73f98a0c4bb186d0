"""The pieces of the exported endpoint contract that models build their endpoints from: the endpoint names,
input signatures, and input checks that run inside the SavedModel (so a plain TensorFlow program gets a
clear error for a bad input rather than a silent wrong answer).

Endpoints take float32 inputs of the model's shape: images [batch, H, W, C] (MNIST's [batch, 28, 28, 1]), named
"images", or rows [batch, d] of a table, named "rows" (`score(rows=...)`). A model made with `resize_inputs` (one
trained on images resized to one size, `--image-size`) takes images of any height and width, [batch, None, None, C],
and resizes them inside the graph to its H x W with `resized_images`, as the data sources resized its training
images; images at its own size pass unchanged. Its channel count C stays fixed:

    encode(images) -> {"code", ...}           probabilistic encoders add "mean" and "stddev"
    decode(code) -> {"probs", ...}            Bernoulli decoders add "logits"; real-valued ones "mean" (and "stddev")
    reconstruct(images) -> {"probs"}          the autoencoders' serving_default
    sample(num, seed) -> {"images"}           generative models; stateless in (num, seed); num <= MAX_SAMPLES
                                              ({"rows"} for rows)
    generate(code) -> {"images"}              GANs (no encoder)
    classify(images) -> {"probs", "features"} the classifier
    complete(ratings) -> {"ratings"}          AutoRec: rating vectors (0 = unknown) completed, clipped to [1, 5]
    score(images) -> {"score"}                anomaly score per image, higher = more unusual
    restore(images) -> {"restored"}           denoising autoencoders: corrupted images restored

Inputs must be finite. Those of a Bernoulli likelihood or a sigmoid output (the MNIST models) must also be in
[0, 1]; those of a Gaussian likelihood, a linear output or a model that standardizes its inputs may be any real
values, and are given in the data's own (raw) units: a model that standardizes does so inside, and its "probs",
"mean" and samples come back in raw units. Codes must be within [-CODE_LIMIT, CODE_LIMIT]. An empty batch gives
empty outputs. Conditional models (the CVAE) take digits int32 [b] beside images or codes, and
sample(num, seed, digit).
"""

import dataclasses
import functools
import inspect
from typing import Callable

import tensorflow as tf

ENDPOINT_NAMES = ("encode", "decode", "reconstruct", "sample", "generate", "classify", "complete", "score", "restore")
# The endpoints whose inputs are the data's images or rows (what `resize_inputs` resizes).
INPUT_ENDPOINTS = ("encode", "reconstruct", "classify", "score", "restore")
# Codes beyond this magnitude are refused: no zoo encoder comes near it on MNIST (the largest measured is under
# 30), and codes near float32's limit (3e38) overflow inside the decoder into NaN or Inf.
CODE_LIMIT = 1e4
# Inputs of a model that standardizes (a table's rows) must lie within this many of the training data's standard
# deviations of its mean: values near float32's limit (a column of 3e38) overflow inside the network into NaN.
STANDARDIZED_LIMIT = 1e4
# The most images one sample call draws (a caller loops with other seeds for more): 10**7 exhausted memory.
MAX_SAMPLES = 1000


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One exported function and the TensorSpecs of its inputs (each named: the names are the signature's keys)."""

    function: Callable
    inputs: tuple


def input_name(input_shape):
    """What an endpoint calls a model's inputs of `input_shape`: "rows" for rank-1 rows [d], else "images"."""
    return "rows" if len(input_shape) == 1 else "images"


def inputs_spec(input_shape, any_size=False):
    """The TensorSpec of a batch of inputs of `input_shape`; with `any_size`, images [H, W, C] of any H and W."""
    shape = [None, None, input_shape[-1]] if any_size else list(input_shape)
    return tf.TensorSpec([None, *shape], tf.float32, name=input_name(input_shape))


# How images are resized, in training (zoo.sources) and in the endpoints of a model made with resize_inputs.
RESIZE_METHOD = "bilinear"


def resized_images(images, size):
    """`images` [b, h, w, C] or [h, w, C] as float32 resized to `size` (height, width) by RESIZE_METHOD
    (tf.image.resize, no antialiasing; images of that size come back unchanged): the one resize of the data sources
    and of the endpoints, so that an endpoint resizes as the training images were."""
    return tf.image.resize(tf.cast(images, tf.float32), size, method=RESIZE_METHOD)


def code_spec(latent_dim):
    return tf.TensorSpec([None, latent_dim], tf.float32, name="code")


DIGITS_SPEC = tf.TensorSpec([None], tf.int32, name="digits")
NUM_SPEC = tf.TensorSpec([], tf.int32, name="num")
SEED_SPEC = tf.TensorSpec([], tf.int32, name="seed")
DIGIT_SPEC = tf.TensorSpec([], tf.int32, name="digit")


def ratings_spec(num_inputs):
    return tf.TensorSpec([None, num_inputs], tf.float32, name="ratings")


def contract_checked(function, specs):
    """`function` as the SavedModel exports it: each input is first checked at run time against its spec's shape
    (a SavedModel signature, what TF Serving and `model.signatures[...]` call, does not check shapes itself, and an
    MLP would flatten a [b, 784, 1, 1] batch without complaint), and an empty batch gives empty outputs (oneDNN's
    convolutions fail on zero rows: the function then runs on one row of zeros, 1 x 1 where a side may be any size,
    and its outputs are cut to none).
    Its arguments are named as the specs are, so that callers may pass inputs by name (`score(rows=...)`)."""
    @functools.wraps(function)
    def checked(*inputs):
        inputs = [tf.ensure_shape(value, spec.shape, name=spec.name) for value, spec in zip(inputs, specs)]
        batched = [value for value, spec in zip(inputs, specs) if spec.shape.rank]
        if not batched:
            return function(*inputs)
        # Empty when the first batched input has no rows and the others (e.g. digits) none or a single one.
        empty = tf.reduce_all(tf.stack([tf.shape(batched[0])[0] == 0] + [tf.shape(v)[0] <= 1 for v in batched[1:]]))

        def on_one_row_of_zeros():
            one_row = [tf.zeros([1, *(1 if side is None else side for side in spec.shape[1:])], spec.dtype)
                       if spec.shape.rank else value
                       for value, spec in zip(inputs, specs)]
            return tf.nest.map_structure(lambda output: output[:0], function(*one_row))

        return tf.cond(empty, on_one_row_of_zeros, lambda: function(*inputs))

    checked.__signature__ = inspect.Signature([inspect.Parameter(spec.name, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                                               for spec in specs])
    return checked


def _passing(value, checks):
    with tf.control_dependencies(checks):
        return tf.identity(value)


def checked_inputs(inputs, name="images", unit_interval=True):
    """`inputs` once they are finite and, with `unit_interval`, in [0, 1]; an InvalidArgumentError saying which rule
    failed otherwise (`name`: what the messages call them)."""
    inputs = tf.debugging.assert_all_finite(inputs, f"{name} must be finite (no NaN or Inf)")
    if not unit_interval:
        return inputs
    return _passing(inputs, [
        tf.debugging.assert_greater_equal(inputs, 0.0, message=f"{name} must be in [0, 1]; found a value below 0"),
        tf.debugging.assert_less_equal(inputs, 1.0, message=f"{name} must be in [0, 1]; found a value above 1"),
    ])


def checked_standardized(values, name="rows"):
    """Standardized inputs `values` once they are within STANDARDIZED_LIMIT training standard deviations."""
    return _passing(values, [tf.debugging.assert_less_equal(
        tf.abs(values), STANDARDIZED_LIMIT, message=(
            f"{name} must lie within {STANDARDIZED_LIMIT:g} standard deviations of the training data's mean in every "
            "column; found a value further out"))])


def checked_codes(codes):
    """`codes` once they are finite and within [-CODE_LIMIT, CODE_LIMIT]."""
    codes = tf.debugging.assert_all_finite(codes, "code must be finite (no NaN or Inf)")
    return _passing(codes, [tf.debugging.assert_less_equal(
        tf.abs(codes), CODE_LIMIT, message=f"code values must be within [-{CODE_LIMIT:g}, {CODE_LIMIT:g}]; found a larger one")])


def checked_ratings(ratings):
    ratings = tf.debugging.assert_all_finite(ratings, "ratings must be finite (no NaN or Inf)")
    valid = tf.logical_or(tf.equal(ratings, 0.0), tf.logical_and(ratings >= 1.0, ratings <= 5.0))
    return _passing(ratings, [tf.debugging.Assert(tf.reduce_all(valid), [
        "ratings must be 0 (unknown) or in [1, 5]; found", tf.boolean_mask(ratings, tf.logical_not(valid))[:5]])])


def checked_digits(digits, num_classes, batch_size=None, broadcast=False):
    """`digits` once each is in [0, num_classes) and, given `batch_size`, there is one per row (or a single one
    that `broadcast` repeats for every row)."""
    checks = [tf.debugging.Assert(tf.reduce_all((digits >= 0) & (digits < num_classes)), [
        f"digits must be in 0..{num_classes - 1}; found", tf.boolean_mask(digits, (digits < 0) | (digits >= num_classes))[:5]])]
    if batch_size is not None:
        count = tf.shape(digits)[0]
        allowed = tf.logical_or(tf.equal(count, batch_size), tf.logical_and(broadcast, tf.equal(count, 1)))
        rule = "one digit per row, or a single digit for every row" if broadcast else "one digit per row"
        checks.append(tf.debugging.Assert(allowed, [f"digits must give {rule}; received", count,
                                                    "digits for", batch_size, "rows"]))
    digits = _passing(digits, checks)
    if broadcast and batch_size is not None:
        digits = tf.tile(digits, [batch_size // tf.maximum(tf.shape(digits)[0], 1)])
    return digits


def checked_count(num):
    """`num` once it is in [0, MAX_SAMPLES]."""
    return _passing(num, [tf.debugging.assert_non_negative(num, message=f"num must be in 0..{MAX_SAMPLES}"),
                          tf.debugging.assert_less_equal(num, MAX_SAMPLES, message=(
                              f"num must be in 0..{MAX_SAMPLES} per call (call again with another seed for more)"))])


def seed_pair(seed):
    """The int64 [2] seed of TensorFlow's stateless random ops, from an endpoint's int32 seed."""
    return tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
