"""What `--data` names: a data source, parsed and checked before TensorFlow starts (layer 1: no TensorFlow, no
numpy: `SourceArrays`, what a source holds, only names numpy arrays). zoo.sources reads each kind into arrays.

The forms:
  mnist                   MNIST, read as zoo.data reads it (--data-dir, $ZOO_DATA_DIR, then tensorflow-datasets)
  tfds:NAME[:SPLIT]       a tensorflow-datasets dataset with an image feature; SPLIT is the training split (train)
  images:DIR              a folder of images, in class subfolders or not, perhaps split into train/ and test/
  arrays:FILE.npz         x_train and x_test (y_train and y_test optional): a table [n, d] or images
  csv:FILE                a table whose first line names its columns
  sklearn:NAME            a dataset that ships inside scikit-learn: breast_cancer (a table) or digits (8x8 images)
"""

from __future__ import annotations  # SourceArrays' array annotations, without importing numpy

import ast
import dataclasses
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

SOURCE_KINDS = ("mnist", "tfds", "images", "arrays", "csv", "sklearn")
SKLEARN_DATASETS = {"breast_cancer": "table", "digits": "images"}  # name -> the kind of data it holds
DEFAULT_TFDS_SPLIT = "train"
FORMS = ("mnist, tfds:NAME[:SPLIT], images:DIR, arrays:FILE.npz, csv:FILE or sklearn:NAME "
         f"(NAME one of {', '.join(SKLEARN_DATASETS)})")


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """A parsed `--data`: the source's `kind` (one of SOURCE_KINDS), its `location` (the dataset's name, or the
    directory or file; None for mnist) and, for tfds only, the training `split` (DEFAULT_TFDS_SPLIT when the text
    names none; None for the other kinds)."""

    kind: str
    location: str | None
    split: str | None

    def __str__(self):
        if self.kind == "mnist":
            return "mnist"
        return f"{self.kind}:{self.location}" + (f":{self.split}" if self.split is not None else "")


def parse(text):
    """The DataSpec of a `--data` text; ValueError, one line naming `text` and the forms, if it is none of them."""
    if not isinstance(text, str):
        raise ValueError(f"a data source is text; received {text!r}; the forms are {FORMS}")
    if text == "mnist":
        return DataSpec("mnist", None, None)
    kind, colon, rest = text.partition(":")
    why = None
    if not colon or kind not in SOURCE_KINDS or kind == "mnist":
        why = "no such kind of source"
    elif not rest:
        why = f"{kind}: names nothing"
    elif kind == "tfds":
        name, colon, split = rest.partition(":")
        if not name.strip() or colon and not split.strip():
            why = "tfds: takes a dataset's NAME and an optional training SPLIT"
        else:
            return DataSpec("tfds", name, split if colon else DEFAULT_TFDS_SPLIT)
    elif kind == "arrays" and not rest.endswith(".npz"):
        why = "arrays: takes a .npz file (numpy.savez)"
    elif kind == "sklearn" and rest not in SKLEARN_DATASETS:
        why = f"scikit-learn ships no dataset {rest!r} that the zoo reads"
    if why:
        raise ValueError(f"data source {text!r}: {why}; the forms are {FORMS}")
    return DataSpec(kind, rest, None)


def path_problem(spec):
    """Why the directory or file `spec` names cannot be read, or None (also for the kinds that name no path)."""
    path = spec.location
    if spec.kind not in ("images", "arrays", "csv"):
        return None
    if "\0" in path:
        return f"{path!r} holds a NUL byte, which no path can"
    wanted = "a directory of images" if spec.kind == "images" else "a regular file"
    try:
        found = Path(path).is_dir() if spec.kind == "images" else Path(path).is_file()
        exists = Path(path).exists()
    except OSError as error:
        return f"cannot use {path}: {error.strerror}"
    if found:
        return None
    return f"{spec.kind}: takes {wanted}; {path} " + ("is not one" if exists else "does not exist")


def _npz_kind(path):
    """"table" or "images" by the rank of an .npz file's x_train, read from its .npy header alone (no numpy); None if
    the header cannot be read (zoo.sources reads the file and says what is wrong with it)."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open("x_train.npy") as entry:
            magic = entry.read(8)  # \x93NUMPY, then the format's major and minor version
            length = entry.read(2 if magic[6:7] == b"\x01" else 4)
            header = entry.read(min(int.from_bytes(length, "little"), 2**16))
        rank = len(ast.literal_eval(header.decode("latin1"))["shape"])
    except Exception:  # whatever a damaged or foreign file raises: it is reported when the source is read
        return None
    return {2: "table", 3: "images", 4: "images"}.get(rank)


# kind of source -> its location -> the kind of data it holds ("images" or "table", as SourceArrays.kind), or None
KINDS_OF_DATA = {
    "mnist": lambda location: "images",
    "tfds": lambda location: "images",
    "images": lambda location: "images",
    "arrays": _npz_kind,
    "csv": lambda location: "table",
    "sklearn": SKLEARN_DATASETS.get,
}
assert set(KINDS_OF_DATA) == set(SOURCE_KINDS)


def kind_of_data(text):
    """The kind of data ("images" or "table") the `--data` text names, known before it is read; None when the text
    names no source or the file cannot tell."""
    try:
        spec = parse(text)
    except ValueError:
        return None
    return KINDS_OF_DATA[spec.kind](spec.location)


def problem(name, value):
    """A zoo.flags check of a `--data` value: why it names no readable source (its form, and that its directory or
    file exists), or None. `name` is the flag, e.g. "--data"."""
    try:
        spec = parse(value)
    except ValueError as error:
        return f"{name}: {error}"
    found = path_problem(spec)
    return found and f"{name}: {found}"


@dataclasses.dataclass
class SourceArrays:
    """One data source read into arrays.

    `kind` is "images" (x: uint8 [n, H, W, C] in 0..255, or float32 [n, H, W, C] in [0, 1]; C is 1 or 3) or "table"
    (x: float32 [n, d], raw, not standardised). Labels are int32 class indices (`class_names` names them) or None
    when the source has none. `fingerprint` identifies the data read and the settings it was read with (image size,
    label column, and the test fraction and seed when the test part is held out); `description` is one line for a
    model card; `columns` names a table's features; `test_part` says how the test part was made; `spec` is the
    `--data` text; `resized` says the images were resized to one size as they were read (an image size was given, or
    a folder held images of several sizes), so that a model trained on them resizes what its endpoints take."""

    kind: str
    x_train: np.ndarray
    y_train: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray | None
    fingerprint: str
    description: str
    class_names: tuple | None
    columns: tuple | None
    test_part: str
    spec: str
    resized: bool = False
