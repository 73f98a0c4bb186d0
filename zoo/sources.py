"""Data sources read into numpy arrays with a train and a test part: MNIST, a tensorflow-datasets dataset, a folder
of images, an .npz file of arrays, a CSV table or a dataset that ships inside scikit-learn (zoo.data_spec parses
the `--data` text that names one).

Every failure the data can cause is a DataError of one line naming the file (and the line, column or entry) and
what is allowed. TensorFlow, Keras, tensorflow-datasets and scikit-learn are imported only by the sources that use
them, so a table is read without starting TensorFlow.
"""

import csv
import dataclasses
import hashlib
import json
import math
import os
import re
from pathlib import Path

import numpy as np

from zoo import data_spec, files
from zoo.data_spec import SourceArrays  # noqa: F401 (what `load` returns)
from zoo.errors import DataError, in_one_line

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # what keras.utils.image_dataset_from_directory reads
MAX_IMAGE_SIDE = 4096  # the largest image height or width a source is resized to
OWN_TEST_SPLIT = "the source's test split"


def load(spec, data_dir=None, image_size=None, label_column=None, test_fraction=0.2, seed=0):
    """Reads the source `spec` names (a `--data` text or a zoo.data_spec.DataSpec) into a SourceArrays.

    Args:
      spec: e.g. "mnist", "tfds:cifar10", "images:photos", "arrays:data.npz", "csv:table.csv", "sklearn:digits".
      data_dir: MNIST's directory of IDX files (mnist only; else $ZOO_DATA_DIR, then tensorflow-datasets).
      image_size: (height, width) every image is resized to; None keeps the source's size (an image folder's
        images of several sizes take the first image's). Images only.
      label_column: the name of a CSV table's label column (csv only); None: the table has no labels.
      test_fraction: the part of the examples held out as the test part, in (0, 1), by a source that has no test
        split of its own.
      seed: the seed of that hold-out.
    Raises:
      DataError, one line naming the source, file, line, column or entry at fault and what is allowed.
    """
    try:
        parsed = spec if isinstance(spec, data_spec.DataSpec) else data_spec.parse(spec)
    except ValueError as error:
        raise DataError(str(error)) from None
    found = data_spec.path_problem(parsed)
    if found:
        raise DataError(found)
    if not (isinstance(test_fraction, (int, float)) and 0 < test_fraction < 1):
        raise DataError(f"test_fraction must be in (0, 1); received {test_fraction!r}")
    if not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and 0 <= seed < 2**32):
        raise DataError(f"seed must be a whole number in 0..{2**32 - 1}; received {seed!r}")
    image_size = _checked_size(image_size)
    if label_column is not None and parsed.kind != "csv":
        raise DataError(f"a label column is read from a csv: table; {parsed} names no table with columns")
    split = {"fraction": test_fraction, "seed": seed}
    arrays = READERS[parsed.kind](parsed, data_dir, image_size, label_column, split)
    return dataclasses.replace(arrays, spec=spec if isinstance(spec, str) else str(parsed))


def load_flags(settings, seed=0):
    """`load` of the source that data flags (zoo.config.DataFlags: --data, --data-dir, --image-size, --label-column,
    --test-fraction) name; `seed` draws the test part of a source that has none of its own."""
    return load(settings.data, settings.data_dir, tuple(settings.image_size) or None, settings.label_column,
                settings.test_fraction, seed)


def require_labels(has_labels, spec, needs):
    """A DataError naming the source `spec` and `needs` (what needs labels) unless the data `has_labels`."""
    if not has_labels:
        raise DataError(f"--data {spec} has no labels, which {needs} needs: give a labelled source (an image "
                        "folder's class subfolders, y_train and y_test in an .npz, --label-column for a CSV)")


# kind -> reader(parsed spec, data_dir, image_size, label_column, split settings of a held-out test part)
READERS = {
    "mnist": lambda parsed, data_dir, image_size, label_column, split: _mnist(data_dir, image_size),
    "tfds": lambda parsed, data_dir, image_size, label_column, split: _tfds(parsed.location, parsed.split,
                                                                            image_size, split),
    "images": lambda parsed, data_dir, image_size, label_column, split: _image_folder(Path(parsed.location),
                                                                                      image_size, split),
    "arrays": lambda parsed, data_dir, image_size, label_column, split: _npz(Path(parsed.location), image_size),
    "csv": lambda parsed, data_dir, image_size, label_column, split: _csv(Path(parsed.location), label_column,
                                                                          image_size, split),
    "sklearn": lambda parsed, data_dir, image_size, label_column, split: _sklearn(parsed.location, image_size, split),
}


def split_off(x, y, fraction, seed, what="the data", class_names=None):
    """(x_train, y_train, x_test, y_test): `fraction` of the rows of `x` (and `y`) held out as the test part, drawn
    with `seed` (scikit-learn's train_test_split), stratified by the labels `y` unless they are None. Each part keeps
    the rows' order. The one hold-out every source without a test split of its own uses.

    Raises DataError, naming `what` (and the class, from `class_names`), when the rows are too few for two non-empty
    parts, or a class has fewer than two rows to stratify by."""
    from sklearn.model_selection import train_test_split

    count = len(x)
    held_out = math.ceil(fraction * count)  # as train_test_split rounds a fractional test size
    if held_out >= count or count < 2:
        raise DataError(f"{what}: {count} examples are too few to hold out {_percent(fraction)} of them as a "
                        "test part and keep the rest for training")
    if y is not None:
        counts = np.bincount(y)
        present = np.flatnonzero(counts)
        smallest = present[np.argmin(counts[present])]
        if counts[smallest] < 2:
            name = class_names[smallest] if class_names else str(smallest)
            raise DataError(f"{what}: class {name!r} has {counts[smallest]} example; holding out a test part "
                            "stratified by label needs at least 2 of each class")
        if min(held_out, count - held_out) < len(present):
            raise DataError(f"{what}: {count} examples are too few to hold out {_percent(fraction)} of them "
                            f"stratified by label: each part must hold one of each of the {len(present)} classes")
    try:
        train, test = train_test_split(np.arange(count), test_size=fraction, random_state=seed, stratify=y)
    except ValueError as error:
        raise DataError(f"{what}: cannot hold out {_percent(fraction)} as a test part ({error})") from None
    train, test = np.sort(train), np.sort(test)
    return x[train], None if y is None else y[train], x[test], None if y is None else y[test]


def _percent(fraction):
    return f"{fraction * 100:g}%"


def _held_out_text(split, unit, labelled):
    return (f"{_percent(split['fraction'])} of the {unit} held out (seed {split['seed']}"
            + (", stratified by label)" if labelled else ")"))


def _digest(*parts):
    """A short SHA-256 over JSON-able `parts` (a data fingerprint and the settings it was read with)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _checked_size(image_size):
    if image_size is None:
        return None
    if not (isinstance(image_size, (tuple, list)) and len(image_size) == 2
            and all(isinstance(side, int) and not isinstance(side, bool) and 1 <= side <= MAX_IMAGE_SIDE
                    for side in image_size)):
        raise DataError(f"image_size takes (height, width), each in 1..{MAX_IMAGE_SIDE}; received {image_size!r}")
    return tuple(image_size)


def _no_image_size(image_size, what):
    if image_size is not None:
        raise DataError(f"{what} is a table, which has no image size; received image_size={image_size}")


def _sized_text(images):
    height, width, channels = images.shape[1:]
    return f"{height}x{width} {'grayscale' if channels == 1 else 'RGB'}"


def _classes_text(class_names):
    if not class_names:
        return "no labels"
    shown = ", ".join(class_names[:10]) + (f" and {len(class_names) - 10} more" if len(class_names) > 10 else "")
    return f"{len(class_names)} classes: {shown}"


def resized(images, image_size):
    """`images` [n, H, W, C] (uint8 in 0..255 or float32 in [0, 1]) resized to `image_size` (height, width) as the
    endpoints of a model trained on them resize (zoo.signatures.resized_images), back in their dtype's range;
    unchanged if None or already that size."""
    if image_size is None or images.shape[1:3] == tuple(image_size):
        return images
    from zoo.batching import apply_in_batches
    from zoo.signatures import resized_images

    out = apply_in_batches(lambda batch: resized_images(batch, image_size), images)
    return _in_range(out, images.dtype)


def _in_range(images, dtype):
    if dtype == np.uint8:
        return np.clip(np.rint(images), 0, 255).astype(np.uint8)
    return np.clip(images, 0, 1).astype(np.float32)


# MNIST --------------------------------------------------------------------------------------------------------------

def _mnist(data_dir, image_size):
    from zoo import data

    if image_size not in (None, (28, 28)):
        raise DataError(f"mnist is 28x28 and is not resized; received image_size={image_size}")
    return data.mnist_source(data_dir)


# tensorflow-datasets ------------------------------------------------------------------------------------------------

def _split_names(split):
    """The split names a tensorflow-datasets split text reads: "train[:80%]+validation" -> ["train", "validation"]."""
    return [part.split("[")[0].strip() for part in split.split("+")]


def _tfds_builder(name):
    import tensorflow_datasets as tfds

    from zoo import data

    try:
        builder = tfds.builder(name, data_dir=os.environ.get("TFDS_DATA_DIR"))  # read now, not at tfds import
    except tfds.core.registered.DatasetNotFoundError:
        raise DataError(f"tensorflow-datasets has no dataset {name!r}; its names are listed at "
                        "https://www.tensorflow.org/datasets/catalog/overview and by tfds.list_builders()") from None
    except Exception as error:  # a malformed name, a builder needing a package not installed, ...
        raise DataError(f"tensorflow-datasets cannot make the dataset {name!r}: {in_one_line(error)}") from None
    if not Path(builder.data_dir).exists() and not data.tfds_reachable():
        raise DataError(f"tensorflow-datasets has no prepared copy of {name!r} in {builder.data_dir} and cannot "
                        "download one (no connection): download or prepare it once on a machine that can (tfds "
                        "build, or tfds.builder(name).download_and_prepare()), then set TFDS_DATA_DIR to its directory")
    try:
        builder.download_and_prepare()
    except Exception as error:  # a download failing, a dataset whose files must be downloaded by hand, ...
        raise DataError(f"tensorflow-datasets cannot prepare {name!r}: {in_one_line(error)}") from None
    return builder


def _tfds_part(builder, split, image_size, has_label):
    """(images uint8 [n, H, W, C], labels or None) of one split."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from zoo.signatures import resized_images

    name = builder.info.full_name

    def pick(example):
        image = example["image"]
        if image_size is not None:
            image = tf.cast(tf.clip_by_value(tf.round(resized_images(image, image_size)), 0, 255), tf.uint8)
        return image, example["label"] if has_label else tf.constant(0, tf.int64)

    try:
        dataset = builder.as_dataset(split=split, shuffle_files=False).map(pick)
        if dataset.element_spec[0].shape.is_fully_defined():  # one size: read in batches
            examples = [pair for batch in tfds.as_numpy(dataset.batch(1024)) for pair in zip(*batch)]
        else:
            examples = list(tfds.as_numpy(dataset))
    except (ValueError, tf.errors.OpError) as error:
        raise DataError(f"tensorflow-datasets {name} cannot read the split {split!r}: {in_one_line(error)}") from None
    if not examples:
        raise DataError(f"tensorflow-datasets {name} split {split!r} holds no examples")
    sizes = sorted({image.shape for image, _ in examples})
    if len(sizes) > 1:
        shown = ", ".join("x".join(map(str, size)) for size in sizes[:5])
        raise DataError(f"tensorflow-datasets {name} split {split!r}: images of {len(sizes)} sizes ({shown}"
                        f"{' ...' if len(sizes) > 5 else ''}); give an image size to resize them to one")
    images, labels = np.stack([image for image, _ in examples]), np.array([label for _, label in examples])
    if images.dtype != np.uint8 or images.shape[-1] not in (1, 3):
        raise DataError(f"tensorflow-datasets {name}: its images are {images.dtype} with {images.shape[-1]} channels; "
                        "the zoo reads uint8 images with 1 (grayscale) or 3 (RGB) channels")
    return images, labels if has_label else None


def _tfds(name, split, image_size, held_out):
    import tensorflow_datasets as tfds

    builder = _tfds_builder(name)
    features = builder.info.features
    full_name = builder.info.full_name
    if "image" not in features or not isinstance(features["image"], tfds.features.Image):
        raise DataError(f"tensorflow-datasets {full_name} has no image feature named 'image' (its features: "
                        f"{', '.join(features.keys())}); the zoo reads datasets of images")
    has_label = "label" in features and isinstance(features["label"], tfds.features.ClassLabel)
    available = list(builder.info.splits.keys())
    unknown = [part for part in _split_names(split) if part not in available]
    if unknown:
        raise DataError(f"tensorflow-datasets {full_name} has no split {unknown[0]!r}; its splits: "
                        f"{', '.join(available) or 'none'}")
    x_train, y_train = _tfds_part(builder, split, image_size, has_label)
    class_names = tuple(features["label"].names) if has_label else None
    if "test" in available and "test" not in _split_names(split):
        x_test, y_test = _tfds_part(builder, "test", image_size, has_label)
        test_part, settings = OWN_TEST_SPLIT, {}
    else:
        x_train, y_train, x_test, y_test = split_off(x_train, y_train, held_out["fraction"], held_out["seed"],
                                                     f"tensorflow-datasets {full_name} split {split!r}", class_names)
        test_part, settings = _held_out_text(held_out, "images", has_label), held_out
    if has_label:
        y_train, y_test = y_train.astype(np.int32), y_test.astype(np.int32)
    return SourceArrays(
        kind="images", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        fingerprint=f"tensorflow-datasets:{full_name}:{_digest(split, image_size, settings)}",
        description=f"tensorflow-datasets {full_name}, split {split} ({len(x_train) + len(x_test)} images; "
                    f"{_classes_text(class_names)}), {_sized_text(x_train)}"
                    + (" (resized)" if image_size else ""),
        class_names=class_names, columns=None, test_part=test_part, spec="", resized=image_size is not None)


# Image folders ------------------------------------------------------------------------------------------------------

def _class_dirs(directory):
    """The subfolders keras.utils.image_dataset_from_directory takes as classes: every one not hidden, sorted."""
    return sorted(entry.name for entry in directory.iterdir() if entry.is_dir() and not entry.name.startswith("."))


def _image_paths(directory):
    """The image files below `directory` (any depth, links to folders not followed), in the order Keras lists them."""
    found = []
    for root, _, names in sorted(os.walk(directory), key=lambda walked: walked[0]):
        found += [Path(root) / name for name in sorted(names) if name.lower().endswith(IMAGE_FORMATS)]
    return found


def _folder_layout(directory):
    """(class names or None, image paths in Keras's order) of one folder: its images lie in class subfolders or
    directly in it, never both; every class subfolder holds an image."""
    classes = _class_dirs(directory)
    everything = _image_paths(directory)
    loose = [path for path in everything if path.parent == directory]
    formats = ", ".join(IMAGE_FORMATS)
    if classes and loose:
        raise DataError(f"{directory} holds images both directly ({loose[0].name}) and in subfolders "
                        f"({', '.join(classes[:3])}); put every image in a class subfolder, or none")
    if not classes:  # Keras then reads every image below it, in hidden folders too
        if not everything:
            raise DataError(f"{directory} holds no images (the files read end in {formats})")
        return None, everything
    paths = []
    for name in classes:
        inside = _image_paths(directory / name)
        if not inside:
            raise DataError(f"{directory / name} holds no images: each subfolder of {directory} is a class of "
                            f"images (the files read end in {formats})")
        paths += inside
    return tuple(classes), paths


def _decoded_shapes(paths):
    """(height, width, channels) of each image, decoding it as Keras will (tf.io.decode_image); DataError naming the
    first file that does not decode."""
    import tensorflow as tf

    shapes = []
    for path in paths:
        try:
            image = tf.io.decode_image(tf.io.read_file(str(path)), channels=0, expand_animations=False)
        except tf.errors.OpError as error:
            raise DataError(f"{path}: does not decode as an image ({in_one_line(error, 120)})") from None
        shapes.append(tuple(image.shape))
    return shapes


def _read_folder(directory, classes, color_mode, image_size):
    """(images uint8 [n, H, W, C], labels or None) of one folder, through keras.utils.image_dataset_from_directory."""
    import keras
    import tensorflow as tf

    from zoo.signatures import RESIZE_METHOD

    images, labels = [], []
    try:
        dataset = keras.utils.image_dataset_from_directory(  # resizes by tf.image.resize, as resized_images does
            directory, labels="inferred" if classes else None, label_mode="int" if classes else None,
            class_names=list(classes) if classes else None, color_mode=color_mode, batch_size=256,
            image_size=image_size, interpolation=RESIZE_METHOD, shuffle=False, verbose=False)
        for batch in dataset:
            images.append((batch[0] if classes else batch).numpy())
            labels.append(batch[1].numpy() if classes else None)
    except (ValueError, tf.errors.OpError) as error:  # e.g. a file changed since it was decoded
        raise DataError(f"{directory}: cannot be read as a folder of images ({in_one_line(error, 120)})") from None
    images = _in_range(np.concatenate(images), np.uint8)
    return images, np.concatenate(labels).astype(np.int32) if classes else None


def _image_folder(directory, image_size, held_out):
    parts = {"train": directory / "train", "test": directory / "test"}
    if not all(part.is_dir() for part in parts.values()):
        parts = {"all": directory}
    layouts = {part: _folder_layout(path) for part, path in parts.items()}
    classes = layouts[next(iter(parts))][0]
    if len(parts) == 2 and layouts["test"][0] != classes:
        shown = {part: ", ".join(layout[0]) if layout[0] else "none" for part, layout in layouts.items()}
        raise DataError(f"{parts['test']} and {parts['train']} must hold the same class subfolders; test has "
                        f"{shown['test']}, train has {shown['train']}")
    paths = [path for _, part_paths in layouts.values() for path in part_paths]
    shapes = _decoded_shapes(paths)
    color_mode = "grayscale" if all(shape[2] == 1 for shape in shapes) else "rgb"
    sizes = {shape[:2] for shape in shapes}
    size = image_size or shapes[0][:2]
    read = {part: _read_folder(path, classes, color_mode, size) for part, path in parts.items()}
    if len(parts) == 2:
        (x_train, y_train), (x_test, y_test) = read["train"], read["test"]
        test_part, settings = OWN_TEST_SPLIT, {}
    else:
        x_train, y_train, x_test, y_test = split_off(*read["all"], held_out["fraction"], held_out["seed"],
                                                     str(directory), classes)
        test_part, settings = _held_out_text(held_out, "images", classes is not None), held_out
    if image_size:
        sized = f" (resized to {size[0]}x{size[1]})"
    else:
        sized = f" (resized to the size of the first image, {paths[0].name})" if len(sizes) > 1 else ""
    relative = [path.relative_to(directory).as_posix() for path in paths]  # the class of each file, too
    return SourceArrays(
        kind="images", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        fingerprint=_digest("images", files.fingerprint(paths), relative, size, color_mode, settings),
        description=f"image folder {directory} ({len(paths)} images; {_classes_text(classes)}), "
                    f"{_sized_text(x_train)}{sized}",
        class_names=classes, columns=None, test_part=test_part, spec="", resized=bool(image_size) or len(sizes) > 1)


# .npz arrays --------------------------------------------------------------------------------------------------------

NPZ_ENTRIES = ("x_train", "x_test", "y_train", "y_test")


def _npz_entries(path):
    """{entry: array} of the entries of NPZ_ENTRIES an .npz file holds; DataError naming the file and entry."""
    import zipfile

    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: not an .npz archive numpy can read ({in_one_line(error, 120)})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: holds one array (.npy), not an .npz archive with x_train and x_test "
                        "(numpy.savez(path, x_train=..., x_test=...))")
    with archive:
        found = list(archive.files)
        missing = [name for name in ("x_train", "x_test") if name not in found]
        if missing:
            raise DataError(f"{path}: no entry {missing[0]!r}; it holds {', '.join(found) or 'nothing'}; an .npz "
                            "source holds x_train and x_test, and y_train and y_test if it has labels")
        if ("y_train" in found) != ("y_test" in found):
            raise DataError(f"{path}: holds {'y_train' if 'y_train' in found else 'y_test'} without "
                            f"{'y_test' if 'y_train' in found else 'y_train'}; give the labels of both parts or none")
        entries = {}
        for name in NPZ_ENTRIES:
            if name in found:
                try:
                    entries[name] = archive[name]
                except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
                    raise DataError(f"{path}: entry {name!r} cannot be read ({in_one_line(error, 120)})") from None
    return entries


def _npz_x(path, name, x):
    """The entry `x` checked and as the zoo holds it: a float32 table, or images [n, H, W, C]."""
    where = f"{path}: entry {name!r}"
    if x.size == 0:
        raise DataError(f"{where} is empty (shape {x.shape})")
    if x.ndim not in (2, 3, 4) or x.ndim == 4 and x.shape[3] not in (1, 3):
        raise DataError(f"{where} has shape {x.shape}; it takes a table [n, d], grayscale images [n, H, W] or "
                        "images [n, H, W, C] with C 1 or 3")
    numeric = np.issubdtype(x.dtype, np.number) and not np.issubdtype(x.dtype, np.complexfloating)
    if not (numeric or x.dtype == np.bool_):
        raise DataError(f"{where} holds {x.dtype}; it takes numbers")
    if x.ndim == 2:
        table = x.astype(np.float32)
        if not np.isfinite(table).all():
            row = int(np.argwhere(~np.isfinite(table))[0][0])
            raise DataError(f"{where} holds a non-finite value (in row {row}, as float32); every value must be finite")
        return table
    images = x[..., None] if x.ndim == 3 else x
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.floating):
        raise DataError(f"{where} holds images of {x.dtype}; images are uint8 (0..255) or floats in [0, 1]")
    images = images.astype(np.float32)
    if not np.isfinite(images).all():
        raise DataError(f"{where} holds a non-finite value; every value must be finite")
    if images.min() < 0 or images.max() > 1:
        raise DataError(f"{where} holds float images with values from {images.min():g} to {images.max():g}; float "
                        "images lie in [0, 1] (or are uint8, 0..255)")
    return images


def _npz_y(path, name, y, rows):
    where = f"{path}: entry {name!r}"
    if not np.issubdtype(y.dtype, np.integer) or y.ndim != 1:
        raise DataError(f"{where} holds {y.dtype} of shape {y.shape}; labels are whole numbers, one per row")
    if len(y) != rows:
        raise DataError(f"{where} holds {len(y)} labels for {rows} rows of x_{name[2:]}; give one label per row")
    if len(y) and (y.min() < 0 or y.max() >= 2**31):
        raise DataError(f"{where} holds the label {y.min() if y.min() < 0 else y.max()}; labels are class indices "
                        f"0..{2**31 - 1}")
    return y.astype(np.int32)


def _npz(path, image_size):
    entries = _npz_entries(path)
    x_train, x_test = (_npz_x(path, name, entries[name]) for name in ("x_train", "x_test"))
    if x_train.shape[1:] != x_test.shape[1:] or x_train.dtype != x_test.dtype:
        raise DataError(f"{path}: x_train holds {x_train.dtype} rows of shape {x_train.shape[1:]} but x_test "
                        f"{x_test.dtype} rows of shape {x_test.shape[1:]}; both parts must be alike")
    labelled = "y_train" in entries
    y_train = _npz_y(path, "y_train", entries["y_train"], len(x_train)) if labelled else None
    y_test = _npz_y(path, "y_test", entries["y_test"], len(x_test)) if labelled else None
    kind = "table" if x_train.ndim == 2 else "images"
    if kind == "table":
        _no_image_size(image_size, str(path))
    x_train, x_test = resized(x_train, image_size), resized(x_test, image_size)
    class_names = tuple(str(index) for index in range(max(y_train.max(), y_test.max()) + 1)) if labelled else None
    shape = _sized_text(x_train) if kind == "images" else f"{x_train.shape[1]} columns"
    return SourceArrays(
        kind=kind, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        fingerprint=_digest("arrays", files.fingerprint([path]), image_size),
        description=f"arrays {path} ({len(x_train)} training and {len(x_test)} test {'images' if kind == 'images' else 'rows'}; "
                    f"{_classes_text(class_names)}), {shape}" + (" (resized)" if image_size else ""),
        class_names=class_names, columns=None, test_part=OWN_TEST_SPLIT, spec="", resized=image_size is not None)


# CSV tables ---------------------------------------------------------------------------------------------------------

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _csv_rows(path):
    """(column names, [(line number, cells)]) of a CSV file: a header, then rows of as many cells."""
    rows = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            try:
                header = [name.strip() for name in next(reader)]
            except StopIteration:
                raise DataError(f"{path}: empty; a CSV source's first line names its columns") from None
            start = reader.line_num + 1  # the line a row starts on (a quoted cell may hold line breaks)
            for cells in reader:
                if cells:  # not a blank line
                    rows.append((start, cells))
                start = reader.line_num + 1
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text (byte {error.start}: {error.reason})") from None
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror})") from None
    except csv.Error as error:
        raise DataError(f"{path} line {reader.line_num}: not CSV ({error})") from None
    for index, name in enumerate(header):
        if not name:
            raise DataError(f"{path} line 1: column {index + 1} has no name; the first line names every column")
        if name in header[:index]:
            raise DataError(f"{path} line 1: the column name {name!r} appears twice; column names must differ")
    if not rows:
        raise DataError(f"{path}: holds a header and no rows of data")
    for line, cells in rows:
        if len(cells) != len(header):
            raise DataError(f"{path} line {line}: {len(cells)} cells, but the header names {len(header)} columns")
    return header, rows


def _number(path, line, column, cell):
    try:
        value = float(cell)
    except ValueError:
        raise DataError(f"{path} line {line}, column {column!r}: {cell!r} is not a number") from None
    if not math.isfinite(value) or abs(value) > FLOAT32_MAX:
        raise DataError(f"{path} line {line}, column {column!r}: {cell!r} is not a finite number (as float32)")
    return value


def _csv(path, label_column, image_size, held_out):
    _no_image_size(image_size, str(path))
    header, rows = _csv_rows(path)
    if label_column is not None and label_column not in header:
        raise DataError(f"{path} has no column {label_column!r}; its columns: {', '.join(header)}")
    columns = tuple(name for name in header if name != label_column)
    if not columns:
        raise DataError(f"{path}: no columns besides the label column {label_column!r}")
    keep = [index for index, name in enumerate(header) if name != label_column]
    x = np.array([[_number(path, line, header[index], cells[index]) for index in keep] for line, cells in rows],
                 np.float32)
    y = class_names = None
    if label_column is not None:
        at = header.index(label_column)
        labels = [cells[at].strip() for _, cells in rows]
        for (line, _), label in zip(rows, labels):
            if not label:
                raise DataError(f"{path} line {line}, column {label_column!r}: no label")
        if all(_WHOLE_NUMBER.fullmatch(label) for label in labels):  # "01" and "1" are one class, sorted as numbers
            labels = [str(int(label)) for label in labels]
            class_names = tuple(sorted(set(labels), key=int))
        else:
            class_names = tuple(sorted(set(labels)))
        index = {name: position for position, name in enumerate(class_names)}
        y = np.array([index[label] for label in labels], np.int32)
    x_train, y_train, x_test, y_test = split_off(x, y, held_out["fraction"], held_out["seed"], str(path),
                                                 class_names)
    labels_text = f"; label column {label_column!r}, {_classes_text(class_names)}" if label_column else ""
    return SourceArrays(
        kind="table", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        fingerprint=_digest("csv", files.fingerprint([path]), label_column, held_out),
        description=f"table {path} ({len(rows)} rows, {len(columns)} columns{labels_text})",
        class_names=class_names, columns=columns, test_part=_held_out_text(held_out, "rows", y is not None),
        spec="")


# scikit-learn -------------------------------------------------------------------------------------------------------

def _sklearn(name, image_size, held_out):
    import sklearn
    from sklearn import datasets

    if name == "breast_cancer":
        _no_image_size(image_size, "sklearn:breast_cancer")
        bunch = datasets.load_breast_cancer()
        x, kind, unit = bunch.data.astype(np.float32), "table", "rows"
        columns, class_names = tuple(map(str, bunch.feature_names)), tuple(map(str, bunch.target_names))
        shape = f"{x.shape[1]} columns"
    else:
        bunch = datasets.load_digits()
        x, kind, unit = (bunch.images / 16.0).astype(np.float32)[..., None], "images", "images"
        columns, class_names = None, tuple(str(digit) for digit in bunch.target_names)
    y = bunch.target.astype(np.int32)
    x_train, y_train, x_test, y_test = split_off(x, y, held_out["fraction"], held_out["seed"], f"sklearn:{name}",
                                                 class_names)
    if kind == "images":
        x_train, x_test = resized(x_train, image_size), resized(x_test, image_size)
        shape = _sized_text(x_train) + (" (resized)" if image_size else "")
    return SourceArrays(
        kind=kind, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        fingerprint=f"scikit-learn:{name}:{sklearn.__version__}:{_digest(image_size, held_out)}",
        description=f"scikit-learn's {name} ({len(x)} {unit}; {_classes_text(class_names)}), {shape}",
        class_names=class_names, columns=columns, test_part=_held_out_text(held_out, unit, True), spec="",
        resized=kind == "images" and image_size is not None)


assert set(READERS) == set(data_spec.SOURCE_KINDS), "zoo.data_spec.SOURCE_KINDS must name every reader"
