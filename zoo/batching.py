"""The one batched-apply helper: run a TensorFlow function over an in-memory array, batch by batch."""

import numpy as np
import tensorflow as tf


def apply_in_batches(function, inputs, batch_size=500, dtype=None):
    """`function` applied to consecutive batches of `inputs`, the outputs concatenated as numpy arrays.

    Args:
      function: takes a batch (a tensor, or a tuple of tensors when `inputs` is a tuple of arrays) and
        returns a tensor or a dict of tensors.
      inputs: an array [n, ...], or a tuple of arrays of length n (e.g. images and labels).
      batch_size: rows per call.
      dtype: if given, the outputs are cast to it (e.g. np.float64 for scores).
    Returns:
      an array [n, ...], or a dict of them if `function` returns a dict.
    """
    count = len(inputs[0]) if isinstance(inputs, tuple) else len(inputs)
    outputs = []
    for start in range(0, count, batch_size):
        if isinstance(inputs, tuple):
            batch = tuple(tf.constant(array[start:start + batch_size]) for array in inputs)
        else:
            batch = tf.constant(inputs[start:start + batch_size])
        outputs.append(function(batch))
    if outputs and isinstance(outputs[0], dict):
        return {key: _concatenate([output[key] for output in outputs], dtype) for key in outputs[0]}
    return _concatenate(outputs, dtype)


def _concatenate(parts, dtype):
    array = np.concatenate([np.asarray(part) for part in parts]) if parts else np.zeros((0,))
    return array.astype(dtype) if dtype is not None else array
