"""What `--data` names: a data source, parsed and checked before TensorFlow starts (layer 1: no TensorFlow, no
numpy). zoo.sources reads each kind into arrays.

The forms:
  mnist                   MNIST, read as zoo.data reads it (--data-dir, $ZOO_DATA_DIR, then tensorflow-datasets)
  tfds:NAME[:SPLIT]       a tensorflow-datasets dataset with an image feature; SPLIT is the training split (train)
  images:DIR              a folder of images, in class subfolders or not, perhaps split into train/ and test/
  arrays:FILE.npz         x_train and x_test (y_train and y_test optional): a table [n, d] or images
  csv:FILE                a table whose first line names its columns
  sklearn:NAME            a dataset that ships inside scikit-learn: breast_cancer (a table) or digits (8x8 images)
"""

import dataclasses
from pathlib import Path

SOURCE_KINDS = ("mnist", "tfds", "images", "arrays", "csv", "sklearn")
SKLEARN_DATASETS = ("breast_cancer", "digits")
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


def problem(name, value):
    """A zoo.flags check of a `--data` value: why it names no readable source (its form, and that its directory or
    file exists), or None. `name` is the flag, e.g. "--data"."""
    try:
        spec = parse(value)
    except ValueError as error:
        return f"{name}: {error}"
    found = path_problem(spec)
    return found and f"{name}: {found}"
