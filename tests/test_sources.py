"""The data sources `--data` names (zoo.data_spec, zoo.sources), read from data the tests make (image folders, .npz
and CSV files), data scikit-learn ships, tensorflow-datasets' mock data and the real MNIST."""

import os
import re

import numpy as np
import pytest
from PIL import Image

from tests.conftest import run_python
from zoo import data, data_spec, sources
from zoo.errors import DataError


# --data: the forms ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, kind, location, split", [
    ("mnist", "mnist", None, None),
    ("tfds:cifar10", "tfds", "cifar10", "train"),
    ("tfds:mnist:train[:80%]", "tfds", "mnist", "train[:80%]"),
    ("images:photos/a b", "images", "photos/a b", None),
    ("images:C:/photos", "images", "C:/photos", None),
    ("arrays:x.npz", "arrays", "x.npz", None),
    ("csv:table.csv", "csv", "table.csv", None),
    ("sklearn:digits", "sklearn", "digits", None),
])
def test_parse_reads_every_form(text, kind, location, split):
    spec = data_spec.parse(text)
    assert (spec.kind, spec.location, spec.split) == (kind, location, split)
    assert data_spec.parse(str(spec)) == spec


@pytest.mark.parametrize("text, why", [
    ("", "no such kind"), ("MNIST", "no such kind"), ("mnist:x", "no such kind"), ("folder:x", "no such kind"),
    ("images:", "names nothing"), ("tfds:", "names nothing"), ("tfds:mnist:", "SPLIT"),
    ("arrays:x.npy", r"\.npz"), ("sklearn:iris", "'iris'"),
])
def test_parse_names_the_text_and_the_forms(text, why):
    with pytest.raises(ValueError, match=re.escape(repr(text)) + f".*{why}.*the forms are mnist, tfds:NAME"):
        data_spec.parse(text)


def test_the_flag_check_checks_the_path(tmp_path):
    (tmp_path / "t.csv").write_text("a\n1\n")
    assert data_spec.problem("--data", "mnist") is None
    assert data_spec.problem("--data", f"images:{tmp_path}") is None
    assert data_spec.problem("--data", f"csv:{tmp_path / 't.csv'}") is None
    assert data_spec.problem("--data", "sklearn:digits") is None
    assert re.fullmatch(rf"--data: images: takes a directory of images; {tmp_path / 'no'} does not exist",
                        data_spec.problem("--data", f"images:{tmp_path / 'no'}"))
    assert "is not one" in data_spec.problem("--data", f"images:{tmp_path / 't.csv'}")
    assert "regular file" in data_spec.problem("--data", f"csv:{tmp_path}")
    assert "does not exist" in data_spec.problem("--data", f"arrays:{tmp_path / 'x.npz'}")
    assert "NUL" in data_spec.problem("--data", "csv:a\0b")
    assert "breast_cancer, digits" in data_spec.problem("--data", "sklearn:wine")


# split_off ----------------------------------------------------------------------------------------------------------

def test_split_off_is_seeded_and_stratified():
    x, y = np.arange(100)[:, None], np.repeat([0, 1, 2, 3], 25)
    first, again, other = (sources.split_off(x, y, 0.2, seed) for seed in (0, 0, 1))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[2], other[2])
    x_train, y_train, x_test, y_test = first
    assert np.bincount(y_test).tolist() == [5] * 4 and len(x_train) == 80
    assert sorted(np.concatenate([x_train, x_test])[:, 0]) == list(range(100))
    assert (np.diff(x_train[:, 0]) > 0).all()  # each part keeps the rows' order


def test_split_off_names_a_class_too_small_to_split():
    with pytest.raises(DataError, match="photos: class 'fox' has 1 example"):
        sources.split_off(np.zeros((5, 2)), np.array([0, 0, 1, 1, 2]), 0.4, 0, "photos", ("cat", "dog", "fox"))
    with pytest.raises(DataError, match="2 examples are too few"):
        sources.split_off(np.zeros((2, 2)), None, 0.9, 0)


# Image folders ----------------------------------------------------------------------------------------------------

def write_images(folder, count, shape, seed=0, start=0):
    """`count` random PNGs of `shape` ((H, W) grayscale or (H, W, 3) RGB) in `folder`; returns their pixels."""
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (count, *shape), dtype=np.uint8)
    for index, image in enumerate(pixels):
        Image.fromarray(image).save(folder / f"{start + index:03d}.png")
    return pixels


def rows(*arrays):
    return sorted(image.tobytes() for array in arrays for image in array)


def test_a_folder_of_grayscale_images_without_classes(tmp_path):
    pixels = write_images(tmp_path, 10, (7, 5))
    read = sources.load(f"images:{tmp_path}")
    assert read.kind == "images" and read.x_train.shape == (8, 7, 5, 1) and read.x_test.shape == (2, 7, 5, 1)
    assert read.x_train.dtype == np.uint8 and read.y_train is None and read.class_names is None
    assert rows(read.x_train, read.x_test) == rows(pixels[..., None])  # the pixels themselves, not resampled
    assert read.description == f"image folder {tmp_path} (10 images; no labels), 7x5 grayscale"
    assert read.test_part == "20% of the images held out (seed 0)" and read.spec == f"images:{tmp_path}"


def test_class_subfolders_are_labels_and_the_split_is_stratified(tmp_path):
    for index, name in enumerate(["cat", "dog", "fox"]):
        write_images(tmp_path / name, 6, (4, 4, 3), seed=index)
    read = sources.load(f"images:{tmp_path}", test_fraction=0.5, seed=3)
    assert read.class_names == ("cat", "dog", "fox") and read.x_train.shape == (9, 4, 4, 3)
    assert np.bincount(read.y_test).tolist() == [3, 3, 3] and read.y_test.dtype == np.int32
    assert "3 classes: cat, dog, fox), 4x4 RGB" in read.description
    assert read.test_part == "50% of the images held out (seed 3, stratified by label)"
    again, other = (sources.load(f"images:{tmp_path}", test_fraction=0.5, seed=seed) for seed in (3, 4))
    assert np.array_equal(read.x_test, again.x_test) and read.fingerprint == again.fingerprint
    assert not np.array_equal(read.x_test, other.x_test) and read.fingerprint != other.fingerprint


def test_images_of_several_sizes_and_modes(tmp_path):
    write_images(tmp_path, 4, (6, 8))
    write_images(tmp_path, 4, (3, 3, 3), start=4)  # after the first: the first image's size and grayscale stay
    read = sources.load(f"images:{tmp_path}")
    assert read.x_train.shape[1:] == (6, 8, 3)  # one RGB image makes the source RGB
    assert "resized to the size of the first image, 000.png" in read.description
    resized = sources.load(f"images:{tmp_path}", image_size=(16, 12))
    assert resized.x_train.shape[1:] == (16, 12, 3) and "resized to 16x12" in resized.description
    assert resized.fingerprint != read.fingerprint
    assert sources.load(f"images:{tmp_path}", test_fraction=0.5).fingerprint != read.fingerprint


def test_an_image_folder_resizes_as_the_arrays_and_the_endpoints_do(tmp_path):
    """Keras's folder reader resizes the files as zoo.sources.resized does (zoo.signatures.resized_images, the resize
    of a resizing model's endpoints), and a source says whether it resized its images (a model trained on them then
    resizes what its endpoints take): given an image size, or a folder of several sizes."""
    pixels = {part: write_images(tmp_path / part, 3, (20, 30, 3), seed=seed)
              for seed, part in enumerate(("train", "test"))}
    read = sources.load(f"images:{tmp_path}", image_size=(12, 10))
    np.testing.assert_array_equal(read.x_train, sources.resized(pixels["train"], (12, 10)))
    np.testing.assert_array_equal(read.x_test, sources.resized(pixels["test"], (12, 10)))
    assert read.resized and not sources.load(f"images:{tmp_path}").resized
    write_images(tmp_path / "train", 1, (8, 8, 3), start=3)
    assert sources.load(f"images:{tmp_path}").resized  # several sizes, resized to the first image's


def test_train_and_test_subfolders_are_the_parts(tmp_path):
    for part, count in (("train", 5), ("test", 2)):
        for name in ("a", "b"):
            write_images(tmp_path / part / name, count, (5, 5))
    read = sources.load(f"images:{tmp_path}")
    assert len(read.x_train) == 10 and len(read.x_test) == 4 and read.y_test.tolist() == [0, 0, 1, 1]
    assert read.test_part == "the source's test split"
    assert sources.load(f"images:{tmp_path}", test_fraction=0.5, seed=9).fingerprint == read.fingerprint
    (tmp_path / "test" / "a" / "000.png").write_bytes((tmp_path / "train" / "a" / "001.png").read_bytes())
    assert sources.load(f"images:{tmp_path}").fingerprint != read.fingerprint  # other bytes
    (tmp_path / "test" / "b").rename(tmp_path / "test" / "c")
    with pytest.raises(DataError, match=f"{tmp_path / 'test'} and .*same class subfolders; test has a, c"):
        sources.load(f"images:{tmp_path}")


def test_an_image_that_does_not_decode_is_named(tmp_path):
    write_images(tmp_path / "cat", 3, (4, 4))
    write_images(tmp_path / "dog", 3, (4, 4))
    broken = tmp_path / "dog" / "001.png"
    broken.write_bytes(broken.read_bytes()[:40])
    with pytest.raises(DataError, match=f"^{broken}: does not decode as an image"):
        sources.load(f"images:{tmp_path}")


@pytest.mark.parametrize("layout, message", [
    ({}, "holds no images \\(the files read end in .bmp, .gif, .jpeg, .jpg, .png\\)"),
    ({"notes.txt": 0}, "holds no images"),
    ({"a": 3, "b": 1}, "class 'b' has 1 example"),
    ({"a": 3, "b": 0}, "/b holds no images"),
    ({"a": 3, ".": 2}, "holds images both directly \\(000.png\\) and in subfolders \\(a\\)"),
])
def test_folders_the_zoo_cannot_read(tmp_path, layout, message):
    for name, count in layout.items():
        if name == "notes.txt":
            (tmp_path / name).write_text("no image")
        elif name == ".":
            write_images(tmp_path, count, (4, 4))
        else:
            (tmp_path / name).mkdir()
            write_images(tmp_path / name, count, (4, 4))
    with pytest.raises(DataError, match=f"{tmp_path}.*{message}"):
        sources.load(f"images:{tmp_path}", test_fraction=0.4)


# tensorflow-datasets (its mock data: nothing is downloaded) ------------------------------------------------------

@pytest.fixture
def tfds_metadata(tmp_path):
    """Writes the metadata (features, split names) of tensorflow-datasets datasets into a directory, as a prepared
    copy holds it; returns (the directory, writer(name, {split: examples}))."""
    import tensorflow_datasets as tfds

    def write(name, splits):
        builder = tfds.builder(name, data_dir=str(tmp_path))
        builder.info.set_splits(tfds.core.SplitDict(
            [tfds.core.SplitInfo(name=split, shard_lengths=[count], num_bytes=0) for split, count in splits.items()]))
        os.makedirs(builder.data_dir)
        builder.info.write_to_directory(builder.data_dir)

    return str(tmp_path), write


def test_tfds_with_a_test_split(tfds_metadata):
    import tensorflow_datasets as tfds

    directory, write = tfds_metadata
    write("mnist", {"train": 20, "test": 20})
    with tfds.testing.mock_data(num_examples=20, data_dir=directory):
        read = sources.load("tfds:mnist")
        resized = sources.load("tfds:mnist", image_size=(14, 14))
        with pytest.raises(DataError, match="mnist/3.0.1 has no split 'validation'; its splits: train, test"):
            sources.load("tfds:mnist:validation")
    assert read.x_train.shape == (20, 28, 28, 1) and read.x_train.dtype == np.uint8 and len(read.x_test) == 20
    assert read.y_train.dtype == np.int32 and 0 <= read.y_train.min() and read.y_train.max() <= 9
    assert read.class_names == tuple(map(str, range(10))) and read.test_part == "the source's test split"
    assert read.fingerprint.startswith("tensorflow-datasets:mnist/3.0.1:")
    assert resized.x_train.shape == (20, 14, 14, 1) and resized.x_train.dtype == np.uint8
    assert resized.fingerprint != read.fingerprint and resized.resized and not read.resized


def test_tfds_without_a_test_split_holds_one_out(tfds_metadata):
    import tensorflow_datasets as tfds

    directory, write = tfds_metadata
    write("cifar10", {"train": 40})
    with tfds.testing.mock_data(num_examples=40, data_dir=directory):
        read = sources.load("tfds:cifar10", test_fraction=0.25, seed=1)
    assert read.x_train.shape == (30, 32, 32, 3) and read.x_test.shape == (10, 32, 32, 3)
    assert read.test_part.startswith("25% of the images held out (seed 1")
    assert "32x32 RGB" in read.description


def test_tfds_images_of_several_sizes_are_resized_to_one(tfds_metadata):
    import tensorflow_datasets as tfds

    directory, write = tfds_metadata
    write("tf_flowers", {"train": 40})
    with tfds.testing.mock_data(num_examples=40, data_dir=directory):
        with pytest.raises(DataError, match=r"tf_flowers/[0-9.]+ split 'train': images of \d+ sizes \(\d+x\d+x3, "):
            sources.load("tfds:tf_flowers")
        read = sources.load("tfds:tf_flowers", image_size=(8, 6))
    assert read.x_train.shape == (32, 8, 6, 3) and read.x_test.dtype == np.uint8 and len(read.class_names) == 5


def test_tfds_names_what_is_wrong(tfds_metadata, tmp_path):
    import tensorflow_datasets as tfds

    directory, write = tfds_metadata
    write("iris", {"train": 10})
    with tfds.testing.mock_data(num_examples=10, data_dir=directory):
        with pytest.raises(DataError, match="tensorflow-datasets has no dataset 'no_such_set'.*list_builders"):
            sources.load("tfds:no_such_set")
        with pytest.raises(DataError, match="iris/[0-9.]+ has no image feature.*its features: features, label"):
            sources.load("tfds:iris")
    if data.tfds_reachable():
        return  # online: tensorflow-datasets would download the data rather than fail
    with tfds.testing.mock_data(num_examples=10, data_dir=str(tmp_path / "unprepared")):
        with pytest.raises(DataError, match="no prepared copy of 'mnist' in .*unprepared.*download or prepare it once"):
            sources.load("tfds:mnist")


# .npz arrays ------------------------------------------------------------------------------------------------------

def test_npz_tables_and_images(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "table.npz"
    np.savez(path, x_train=rng.normal(size=(30, 4)), x_test=rng.normal(size=(10, 4)),
             y_train=np.arange(30) % 3, y_test=np.arange(10) % 3)
    table = sources.load(f"arrays:{path}", test_fraction=0.5)
    assert table.kind == "table" and table.x_train.dtype == np.float32 and table.x_test.shape == (10, 4)
    assert table.y_train.dtype == np.int32 and table.class_names == ("0", "1", "2")
    assert table.test_part == "the source's test split"
    gray = tmp_path / "gray.npz"
    np.savez(gray, x_train=rng.integers(0, 256, (6, 5, 5), dtype=np.uint8),
             x_test=rng.integers(0, 256, (2, 5, 5), dtype=np.uint8))
    read = sources.load(f"arrays:{gray}")
    assert read.kind == "images" and read.x_train.shape == (6, 5, 5, 1) and read.y_train is None
    big = sources.load(f"arrays:{gray}", image_size=(10, 10))
    assert big.x_train.shape == (6, 10, 10, 1) and big.x_train.dtype == np.uint8
    assert big.fingerprint != read.fingerprint and big.resized and not read.resized
    colour = tmp_path / "colour.npz"
    np.savez(colour, x_train=rng.random((4, 3, 3, 3), dtype=np.float32), x_test=rng.random((2, 3, 3, 3)))
    read = sources.load(f"arrays:{colour}", image_size=(6, 6))
    assert read.x_train.dtype == np.float32 and 0 <= read.x_train.min() and read.x_train.max() <= 1
    before = sources.load(f"arrays:{colour}").fingerprint
    np.savez(colour, x_train=rng.random((4, 3, 3, 3)), x_test=rng.random((2, 3, 3, 3)))
    assert sources.load(f"arrays:{colour}").fingerprint != before


@pytest.mark.parametrize("entries, message", [
    ({"x_train": np.zeros((3, 2))}, "no entry 'x_test'; it holds x_train"),
    ({"x_train": np.zeros((3, 2)), "x_test": np.zeros((2, 3))}, "x_train holds float32 rows of shape \\(2,\\) but "
                                                                  "x_test float32 rows of shape \\(3,\\)"),
    ({"x_train": np.zeros((3, 2)), "x_test": np.zeros((2, 2)), "y_train": np.zeros(3, int)}, "y_train without y_test"),
    ({"x_train": np.zeros((3, 2)), "x_test": np.zeros((2, 2)), "y_train": np.zeros(2, int), "y_test": np.zeros(2, int)},
     "entry 'y_train' holds 2 labels for 3 rows"),
    ({"x_train": np.zeros((3, 2)), "x_test": np.zeros((2, 2)), "y_train": np.zeros(3), "y_test": np.zeros(2)},
     "entry 'y_train' holds float64 .* labels are whole numbers"),
    ({"x_train": np.array([[0.0, np.nan]]), "x_test": np.zeros((2, 2))}, "entry 'x_train' holds a non-finite value"),
    ({"x_train": np.zeros((3, 2)), "x_test": np.zeros((0, 2))}, "entry 'x_test' is empty"),
    ({"x_train": np.full((2, 4, 4), 2.0), "x_test": np.zeros((2, 4, 4))}, "'x_train' holds float images with values "
                                                                           "from 2 to 2; float images lie in \\[0, 1\\]"),
    ({"x_train": np.zeros((2, 4, 4), np.int64), "x_test": np.zeros((2, 4, 4))}, "images of int64"),
    ({"x_train": np.zeros((2, 4, 4, 2)), "x_test": np.zeros((2, 4, 4, 2))}, "shape \\(2, 4, 4, 2\\); it takes a table"),
])
def test_npz_files_the_zoo_cannot_read(tmp_path, entries, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **entries)
    with pytest.raises(DataError, match=f"^{path}: .*{message}"):
        sources.load(f"arrays:{path}")


def test_a_file_that_is_no_npz_is_named(tmp_path):
    path = tmp_path / "x.npz"
    path.write_bytes(b"not an archive at all")
    with pytest.raises(DataError, match=f"^{path}: not an .npz archive"):
        sources.load(f"arrays:{path}")
    np.save(tmp_path / "one.npy", np.zeros(3))
    (tmp_path / "one.npy").rename(path)
    with pytest.raises(DataError, match=f"^{path}: holds one array"):
        sources.load(f"arrays:{path}")
    np.savez(path, x_train=np.zeros((2, 2)), x_test=np.zeros((2, 2)))
    with pytest.raises(DataError, match=f"{path} is a table, which has no image size"):
        sources.load(f"arrays:{path}", image_size=(4, 4))


# CSV tables -------------------------------------------------------------------------------------------------------

def test_a_csv_table_with_string_labels(tmp_path):
    path = tmp_path / "t.csv"
    lines = ["height, width,kind"] + [f"{i},{i * 2.5},{'dog' if i % 2 else 'cat'}" for i in range(20)]
    path.write_text("\n".join(lines) + "\n\n")
    read = sources.load(f"csv:{path}", label_column="kind", test_fraction=0.25, seed=2)
    assert read.kind == "table" and read.columns == ("height", "width") and read.class_names == ("cat", "dog")
    assert read.x_train.shape == (15, 2) and read.x_train.dtype == np.float32 and np.bincount(read.y_test).tolist() == [3, 2]
    assert np.array_equal(read.x_train[:, 1], read.x_train[:, 0] * 2.5)
    assert np.array_equal(read.y_train, read.x_train[:, 0].astype(int) % 2)
    assert read.test_part == "25% of the rows held out (seed 2, stratified by label)"
    assert read.description == f"table {path} (20 rows, 2 columns; label column 'kind', 2 classes: cat, dog)"
    other = sources.load(f"csv:{path}", label_column="kind", test_fraction=0.25, seed=3)
    assert not np.array_equal(read.x_test, other.x_test) and read.fingerprint != other.fingerprint
    assert sources.load(f"csv:{path}", label_column="kind", test_fraction=0.5, seed=2).fingerprint != read.fingerprint
    path.write_text("a,b\n1,2\n3,4\n5,6\n")
    unlabelled = sources.load(f"csv:{path}")
    assert unlabelled.y_train is None and unlabelled.columns == ("a", "b") and len(unlabelled.x_test) == 1


def test_whole_number_labels_are_classes_in_numeric_order(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x,y\n" + "".join(f"{i},{label}\n" for i, label in enumerate([10, 9, 10, 9, 2, 2, 10, 9, 2])))
    read = sources.load(f"csv:{path}", label_column="y", test_fraction=1 / 3)
    assert read.class_names == ("2", "9", "10")
    before = read.fingerprint
    path.write_text(path.read_text().replace("0,10", "0.5,10"))
    assert sources.load(f"csv:{path}", label_column="y", test_fraction=1 / 3).fingerprint != before


@pytest.mark.parametrize("text, message", [
    ("", ": empty; a CSV source's first line names its columns"),
    ("a,b\n", ": holds a header and no rows"),
    ("a,b,a\n1,2,3\n", " line 1: the column name 'a' appears twice"),
    ("a,,b\n1,2,3\n", " line 1: column 2 has no name"),
    ("a,b\n1,2\n\n3\n", " line 4: 1 cells, but the header names 2 columns"),
    ("a,b\n1,2\n3,four\n", " line 3, column 'b': 'four' is not a number"),
    ("a,b\n1,2\n3,\n", " line 3, column 'b': '' is not a number"),
    ('a,b\n"1\n",2\n3,nan\n', " line 4, column 'b': 'nan' is not a finite number"),  # a cell over 2 lines
    ('a,b\n1,2\n"x\ny",2\n', " line 3, column 'a': 'x\\\\ny' is not a number"),  # where the row starts
    ("a,b\n1,-inf\n", " line 2, column 'b': '-inf' is not a finite"),
    ("a,b\n1,1e39\n", " line 2, column 'b': '1e39' is not a finite number \\(as float32\\)"),
    ("a,b\n1,2\n", " has no column 'label'; its columns: a, b"),
    ("a,label\n1,x\n2,\n", " line 3, column 'label': no label"),
])
def test_csv_files_the_zoo_cannot_read(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    label = "label" if "label" in message else None
    with pytest.raises(DataError, match=f"^{path}{message}"):
        sources.load(f"csv:{path}", label_column=label)


# scikit-learn -----------------------------------------------------------------------------------------------------

def test_breast_cancer_is_a_labelled_table():
    read = sources.load("sklearn:breast_cancer")
    assert read.kind == "table" and read.x_train.shape == (455, 30) and read.x_test.shape == (114, 30)
    assert read.columns[0] == "mean radius" and read.class_names == ("malignant", "benign")
    assert read.x_train.dtype == np.float32 and read.x_train.max() > 1  # raw, not standardised
    assert abs(read.y_test.mean() - read.y_train.mean()) < 0.01  # stratified: 37% malignant in both
    assert re.fullmatch(r"scikit-learn:breast_cancer:[0-9.]+:[0-9a-f]{16}", read.fingerprint)
    with pytest.raises(DataError, match="sklearn:breast_cancer is a table, which has no image size"):
        sources.load("sklearn:breast_cancer", image_size=(8, 8))


def test_digits_are_8x8_images_in_the_unit_interval():
    read = sources.load("sklearn:digits", test_fraction=0.1, seed=5)
    assert read.kind == "images" and read.x_train.shape[1:] == (8, 8, 1) and read.x_train.dtype == np.float32
    assert len(read.x_train) + len(read.x_test) == 1797 and read.x_train.max() == 1.0 and read.x_train.min() == 0.0
    assert set(read.y_test.tolist()) == set(range(10)) and read.class_names == tuple(map(str, range(10)))
    again, other = (sources.load("sklearn:digits", test_fraction=0.1, seed=seed) for seed in (5, 6))
    assert np.array_equal(again.x_test, read.x_test) and again.fingerprint == read.fingerprint
    assert not np.array_equal(other.x_test, read.x_test) and other.fingerprint != read.fingerprint


# MNIST and the arguments ------------------------------------------------------------------------------------------

def test_mnist_keeps_its_fingerprint(mnist_dir):
    read = sources.load("mnist", data_dir=mnist_dir)
    assert read.fingerprint == data.mnist_fingerprint(mnist_dir)
    assert read.x_train.shape == (60000, 28, 28, 1) and read.x_train.dtype == np.uint8
    assert read.y_test.dtype == np.int32 and np.bincount(read.y_test)[0] == 980 and read.class_names[9] == "9"
    with pytest.raises(DataError, match="mnist is 28x28"):
        sources.load("mnist", data_dir=mnist_dir, image_size=(32, 32))


@pytest.mark.parametrize("arguments, message", [
    ({"spec": "sklearn:iris"}, "data source 'sklearn:iris'"),
    ({"spec": "csv:/no/such.csv"}, "/no/such.csv does not exist"),
    ({"spec": "sklearn:digits", "test_fraction": 1.0}, "test_fraction must be in \\(0, 1\\); received 1.0"),
    ({"spec": "sklearn:digits", "image_size": (0, 8)}, "image_size takes \\(height, width\\)"),
    ({"spec": "sklearn:digits", "label_column": "y"}, "a label column is read from a csv: table"),
])
def test_bad_arguments(arguments, message):
    with pytest.raises(DataError, match=message):
        sources.load(**arguments)


def test_a_table_is_read_without_tensorflow(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3,4\n5,6\n")
    code = (f"import sys\nfrom zoo import sources\nsources.load({f'csv:{path}'!r})\nsources.load('sklearn:breast_cancer')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
