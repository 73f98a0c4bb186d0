"""tf.data pipelines of a data source's arrays (`pipelines`; zoo.sources reads the sources), and MNIST's reader:
local IDX files first (a directory the user names), tensorflow-datasets second.

Images come out as float32 [H, W, C] in [0, 1] (MNIST: [28, 28, 1]), a table's rows as float32 [d], with int32
labels. Binarization (of images):
  dynamic    a fresh Bernoulli draw per pixel each time an image is used (training);
             evaluation splits are binarized once with a fixed seed, so reported likelihoods repeat;
  threshold  pixel > 0.5, the same every time;
  none       the grey levels themselves.
"""

import gzip
import math
import os
import socket
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from zoo import files
from zoo.config import BINARIZATIONS, DATA_DIR_ENV, IMAGE_SHAPE, resolved_binarization
from zoo.data_spec import SourceArrays
from zoo.errors import DataError

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10000),
}
EVAL_BINARIZATION_SEED = 1234
_IDX_DTYPES = {0x08: np.uint8}


MAX_IDX_BYTES = 60000 * 28 * 28  # the largest MNIST file's payload (the training images): no IDX file read is larger


def read_idx(path, expected_shape=None):
    """Reads one IDX file (gzipped or not) into a uint8 array, checking its header against its size.

    The header is read and checked first (magic number, element type, the shape against `expected_shape` and
    against MAX_IDX_BYTES); then at most the bytes it promises, and one more to tell a larger file, are
    decompressed: a compression bomb costs no more memory than the MNIST file it pretends to be.

    Args:
      path: the file.
      expected_shape: if given, the array must have exactly this shape.
    Raises:
      DataError naming the file if it is corrupt, truncated, larger than its header says, of another type or of
      another shape.
    """
    path = Path(path)
    compressed = path.suffix == ".gz"
    try:
        with (gzip.open if compressed else open)(path, "rb") as handle:
            head = handle.read(4)
            shape = _idx_shape(path, head, handle.read(4 * head[3]) if len(head) == 4 else b"", expected_shape)
            expected_bytes = math.prod(shape)
            raw = handle.read(expected_bytes + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: cannot be read as {'gzip' if compressed else 'IDX'} ({error})") from None
    if len(raw) != expected_bytes:
        found = f"more than {expected_bytes}" if len(raw) > expected_bytes else f"{len(raw)}"
        raise DataError(f"{path}: header promises shape {shape} ({expected_bytes} bytes) but the file holds {found} "
                        "bytes" + (" (truncated)" if len(raw) < expected_bytes else ""))
    return np.frombuffer(raw, dtype=np.uint8).reshape(shape)


def _idx_shape(path, head, dims, expected_shape):
    """The shape an IDX header (4 bytes `head`, then `dims`) promises, checked; DataError naming `path` otherwise."""
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number {head.hex() or 'empty'})")
    type_code, ndim = head[2], head[3]
    if type_code not in _IDX_DTYPES:
        raise DataError(f"{path}: IDX element type 0x{type_code:02x} is not supported; MNIST uses unsigned bytes (0x08)")
    if ndim == 0 or len(dims) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", dims)
    if 0 in shape:
        raise DataError(f"{path}: header promises shape {shape}, which holds nothing")
    if expected_shape is not None and tuple(shape) != tuple(expected_shape):
        raise DataError(f"{path}: expected shape {tuple(expected_shape)}, found {tuple(shape)}")
    if math.prod(shape) > MAX_IDX_BYTES:  # exact: np.prod wraps around in int64
        raise DataError(f"{path}: header promises shape {shape} ({math.prod(shape)} bytes), more than the largest "
                        f"MNIST file ({MAX_IDX_BYTES} bytes)")
    return shape


MAX_FILE_BYTES = MAX_IDX_BYTES + 2**16  # an MNIST file on disk, gzipped or not: its payload, header and gzip's framing


def _find(directory, stem):
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.exists() and not candidate.is_file():
            raise DataError(f"{candidate}: not a regular file (an MNIST IDX file, gzipped or not, belongs here)")
        if candidate.is_file():
            size = candidate.stat().st_size
            if size > MAX_FILE_BYTES:  # before it is hashed (mnist_fingerprint) or read
                raise DataError(f"{candidate}: {size} bytes, larger than any MNIST file (at most {MAX_FILE_BYTES})")
            return candidate
    raise DataError(
        f"{directory}: no {stem} or {stem}.gz; the directory must hold the four standard MNIST IDX files "
        f"(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, gzipped or not)"
    )


def mnist_files(directory):
    """The four IDX files of an MNIST directory (gzipped or not); DataError naming what is missing."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"data directory {directory} does not exist")
    return [_find(directory, stem) for image_stem, label_stem, _ in MNIST_FILES.values() for stem in (image_stem, label_stem)]


def mnist_fingerprint(data_dir=None):
    """What MNIST is read from, as a fingerprint of the IDX files' bytes (see zoo.files.fingerprint), or the
    tensorflow-datasets name: results computed on other data never match it."""
    data_dir = data_dir or os.environ.get(DATA_DIR_ENV)
    return files.fingerprint(mnist_files(data_dir)) if data_dir else "tensorflow-datasets:mnist"


def read_mnist_dir(directory):
    """Returns {"train": (images uint8 [n, 28, 28], labels uint8 [n]), "test": ...} from a directory of IDX files."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"data directory {directory} does not exist")
    splits = {}
    for split, (image_stem, label_stem, count) in MNIST_FILES.items():
        images = read_idx(_find(directory, image_stem), (count, 28, 28))
        label_path = _find(directory, label_stem)
        labels = read_idx(label_path, (count,))
        if labels.max() > 9:
            raise DataError(f"{label_path}: labels must be digits 0..9; found {labels.max()}")
        splits[split] = (images, labels)
    return splits


def tfds_reachable(timeout=3.0):
    try:
        socket.create_connection(("storage.googleapis.com", 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _read_mnist_tfds():
    """MNIST through tensorflow-datasets; fails within seconds, not minutes, when offline without a prepared copy."""
    import tensorflow_datasets as tfds

    builder = tfds.builder("mnist", data_dir=os.environ.get("TFDS_DATA_DIR"))  # read now, not at tfds import
    if not Path(builder.data_dir).exists() and not tfds_reachable():
        raise DataError(
            f"no MNIST found: no data directory was given (--data-dir or {DATA_DIR_ENV}), tensorflow-datasets has no "
            f"prepared copy in {builder.data_dir}, and it cannot download one (no connection). Download the four IDX "
            f"files (train-images-idx3-ubyte.gz, ...) and pass their directory with --data-dir or {DATA_DIR_ENV}."
        )
    builder.download_and_prepare()
    splits = {}
    for split in MNIST_FILES:
        images, labels = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1, as_supervised=True))
        splits[split] = (images[..., 0].astype(np.uint8), labels.astype(np.uint8))
    return splits


def load_mnist_arrays(data_dir=None):
    """Raw MNIST arrays from `data_dir`, else $ZOO_DATA_DIR, else tensorflow-datasets."""
    data_dir = data_dir or os.environ.get(DATA_DIR_ENV)
    if data_dir:
        return read_mnist_dir(data_dir)
    return _read_mnist_tfds()


def mnist_grayscale(data_dir=None):
    """{"train": (images, labels), "test": (images, labels)}: float32 images [n, 28, 28, 1] in [0, 1], int labels."""
    arrays = load_mnist_arrays(data_dir)
    return {split: ((images.astype(np.float32) / 255.0).reshape(-1, *IMAGE_SHAPE), labels)
            for split, (images, labels) in arrays.items()}


def binarize_once(images, seed=EVAL_BINARIZATION_SEED):
    """One fixed Bernoulli draw per pixel (probability = grey level), as float32 [n, 28, 28, 1]. `images`: uint8
    [n, 28, 28] or [n, 28, 28, 1] (0..255), or float32 [n, H, W, C] in [0, 1]."""
    probs = unit_images(images)
    if probs.ndim == 3:
        probs = probs[..., None]
    return (np.random.default_rng(seed).random(probs.shape, dtype=np.float32) < probs).astype(np.float32)


def unit_images(images):
    """`images` as float32 in [0, 1]: uint8 grey levels divided by 255, floats as they are."""
    return images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)


def mnist_source(data_dir=None):
    """MNIST as SourceArrays (what zoo.sources reads for --data mnist): uint8 images [n, 28, 28, 1] and digit labels,
    from `data_dir`, else $ZOO_DATA_DIR, else tensorflow-datasets; its fingerprint is `mnist_fingerprint`."""
    arrays = load_mnist_arrays(data_dir)
    (x_train, y_train), (x_test, y_test) = arrays["train"], arrays["test"]
    source = data_dir or os.environ.get(DATA_DIR_ENV) or "tensorflow-datasets"
    return SourceArrays(
        kind="images", x_train=x_train[..., None], y_train=y_train.astype(np.int32), x_test=x_test[..., None],
        y_test=y_test.astype(np.int32), fingerprint=mnist_fingerprint(data_dir),
        description=f"MNIST from {source} ({len(x_train)} training and {len(x_test)} test images, 10 digits), "
                    "28x28 grayscale",
        class_names=tuple(str(digit) for digit in range(10)), columns=None, test_part="the source's test split",
        spec="mnist")


def _to_unit(images):
    return tf.cast(images, tf.float32) / 255.0 if images.dtype == tf.uint8 else tf.cast(images, tf.float32)


def _dynamic(images, seed):
    return tf.cast(tf.random.stateless_uniform(tf.shape(images), seed) < images, tf.float32)


_BINARIZERS = {  # name -> transform of a batch of [0, 1] images, given the batch's stateless seed [2]
    "dynamic": _dynamic,
    "threshold": lambda images, seed: tf.cast(images > 0.5, tf.float32),
    "none": lambda images, seed: images,
}
assert set(_BINARIZERS) == set(BINARIZATIONS)


def batch_seeds(seed):
    """An endless stream of stateless seeds [2], one per training batch, from `seed`: another stream each time the
    dataset is iterated again (each epoch under `repeat`), the same streams in every run. Each batch draws with its
    own seed, so the draws do not depend on the order in which the parallel map runs its calls (a shared stateful
    generator gave each batch the draws of whichever call came first, and runs with the same seed differed)."""
    return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)


@dataclass
class Data:
    """The pipelines of one experiment. `train`/`validation`/`test` yield (inputs, labels) batches (labels are zeros
    for a source without labels: `has_labels` says so).

    `test_images` and `test_labels` (and `validation_images`, `validation_labels` when a validation split is
    held out) are the evaluation inputs as numpy arrays, binarized once as the pipelines are, for plots,
    likelihood estimates and thresholds; `raw_test_inputs` are the test inputs before binarization (grey levels in
    [0, 1], or a table's raw rows). `fingerprint` identifies the data read (SourceArrays). `kind`, `input_shape`,
    `class_names`, `columns`, `description` and `test_part` describe the source for cards; `resized` says its images
    were resized to one size as they were read (SourceArrays).
    """

    train: tf.data.Dataset
    validation: tf.data.Dataset | None
    test: tf.data.Dataset
    test_images: np.ndarray
    test_labels: np.ndarray
    train_size: int
    source: str
    fingerprint: str
    validation_images: np.ndarray | None
    validation_labels: np.ndarray | None
    fixed_training_images: object  # count -> the last `count` training inputs, binarized once like the test split
    kind: str = "images"
    input_shape: tuple = IMAGE_SHAPE
    has_labels: bool = True
    class_names: tuple | None = None
    columns: tuple | None = None
    test_part: str = "the source's test split"
    spec: str = "mnist"
    raw_test_inputs: np.ndarray | None = None
    resized: bool = False


MnistData = Data


def mnist(batch_size=100, binarization="dynamic", data_dir=None, seed=0, validation_size=0, train_limit=None,
          train_digits=()):
    """The MNIST pipelines (`pipelines` of `mnist_source`); the arguments are `pipelines`'."""
    return pipelines(mnist_source(data_dir), batch_size, binarization, seed, validation_size, train_limit,
                     train_digits)


def pipelines(arrays, batch_size=100, binarization="dynamic", seed=0, validation_size=0, train_limit=None,
              train_classes=()):
    """Builds the pipelines of a source's arrays (zoo.sources.SourceArrays).

    Args:
      arrays: what the source holds.
      batch_size: inputs per batch; training batches all have this size (the remainder is dropped).
      binarization: one of BINARIZATIONS, for images in [0, 1], or auto (zoo.config.resolved_binarization); a table
        takes only "none".
      seed: shuffling (and dynamic binarization) seed.
      validation_size: inputs held out from the end of the training part for validation (0: none).
      train_limit: use only the first `train_limit` training inputs (for quick runs and tests).
      train_classes: keep only training and validation inputs of these classes (one-class training, e.g. digits);
        the test part keeps every class.
    """
    binarization = resolved_binarization(binarization, arrays.spec)
    if binarization not in BINARIZATIONS:
        raise DataError(f"binarization must be one of {BINARIZATIONS}; received {binarization!r}")
    if arrays.kind == "table" and binarization != "none":
        raise DataError(f"{arrays.spec}: a table's rows are real values, which binarization {binarization!r} does not "
                        "apply to: pass --binarization none (or auto)")
    has_labels = arrays.y_train is not None
    train_images = arrays.x_train
    train_labels = arrays.y_train if has_labels else np.zeros(len(train_images), np.int32)
    test_inputs = arrays.x_test
    test_labels = arrays.y_test if has_labels else np.zeros(len(test_inputs), np.int32)
    if validation_size:
        if not 0 < validation_size < len(train_images):
            raise DataError(f"validation_size must be in (0, {len(train_images)}); received {validation_size}")
        val_images, val_labels = train_images[-validation_size:], train_labels[-validation_size:]
        train_images, train_labels = train_images[:-validation_size], train_labels[:-validation_size]
    if train_classes:
        if not has_labels:
            raise DataError(f"{arrays.spec} has no labels, so training on classes {list(train_classes)} is not "
                            "possible (pass a labelled source, e.g. --label-column for a CSV)")
        keep = np.isin(train_labels, train_classes)
        train_images, train_labels = train_images[keep], train_labels[keep]
        if validation_size:
            keep = np.isin(val_labels, train_classes)
            val_images, val_labels = val_images[keep], val_labels[keep]
    if train_limit:
        train_images, train_labels = train_images[:train_limit], train_labels[:train_limit]
    if len(train_images) < batch_size:
        raise DataError(f"batch_size {batch_size} exceeds the {len(train_images)} training inputs of {arrays.spec}")

    transform = _BINARIZERS[binarization]
    batches = (
        tf.data.Dataset.from_tensor_slices((train_images, train_labels.astype(np.int32)))
        .cache()
        .shuffle(len(train_images), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
    )
    train = (
        tf.data.Dataset.zip(batches, batch_seeds(seed))
        .map(lambda batch, batch_seed: (transform(_to_unit(batch[0]), batch_seed), batch[1]),
             num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )

    def fixed(images):
        if binarization == "dynamic":
            return binarize_once(images)
        return transform(_to_unit(tf.constant(images)), None).numpy()

    def evaluation(images, labels):
        dataset = tf.data.Dataset.from_tensor_slices((images, labels))
        return dataset.batch(batch_size).cache().prefetch(tf.data.AUTOTUNE)

    test_images, test_labels = fixed(test_inputs), test_labels.astype(np.int32)
    if validation_size:
        val_images, val_labels = fixed(val_images), val_labels.astype(np.int32)
    return Data(
        train=train, validation=evaluation(val_images, val_labels) if validation_size else None,
        test=evaluation(test_images, test_labels), test_images=test_images, test_labels=test_labels,
        train_size=len(train_images), source=arrays.description, fingerprint=arrays.fingerprint,
        validation_images=val_images if validation_size else None,
        validation_labels=val_labels if validation_size else None,
        fixed_training_images=lambda count: fixed(train_images[-count:]),
        kind=arrays.kind, input_shape=tuple(int(n) for n in arrays.x_train.shape[1:]), has_labels=has_labels,
        class_names=arrays.class_names, columns=arrays.columns, test_part=arrays.test_part, spec=arrays.spec,
        raw_test_inputs=unit_images(arrays.x_test), resized=arrays.resized)
