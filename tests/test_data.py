import gzip
import struct
import time

import numpy as np
import pytest

from zoo import data


def write_idx(path, array, compress=False):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    (gzip.open if compress else open)(path, "wb").write(payload)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trips(tmp_path, compress):
    array = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28)).astype(np.uint8)
    path = write_idx(tmp_path / ("x.gz" if compress else "x"), array, compress)
    np.testing.assert_array_equal(data.read_idx(path, (5, 28, 28)), array)


def test_truncated_file_names_the_file(tmp_path):
    path = write_idx(tmp_path / "images", np.zeros((5, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(data.DataError, match=f"{path}.*truncated"):
        data.read_idx(path)


def test_corrupt_gzip_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage that is not deflate")
    with pytest.raises(data.DataError, match=str(path)):
        data.read_idx(path)


def test_bad_magic_names_the_file(tmp_path):
    path = tmp_path / "images"
    path.write_bytes(b"PK\x03\x04not an idx file")
    with pytest.raises(data.DataError, match=f"{path}.*magic"):
        data.read_idx(path)


def test_wrong_shape_names_the_file(tmp_path):
    path = write_idx(tmp_path / "images", np.zeros((5, 27, 28), np.uint8))
    with pytest.raises(data.DataError, match=rf"{path}.*expected shape \(5, 28, 28\)"):
        data.read_idx(path, (5, 28, 28))


def test_directory_without_files_names_it(tmp_path):
    with pytest.raises(data.DataError, match=f"{tmp_path}: no train-images-idx3-ubyte"):
        data.read_mnist_dir(tmp_path)


def test_offline_without_data_fails_fast(tmp_path, monkeypatch):
    if data.tfds_reachable():
        pytest.skip("this machine is online: tensorflow-datasets would download MNIST instead of failing")
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    start = time.monotonic()
    with pytest.raises(data.DataError, match=f"--data-dir or {data.DATA_DIR_ENV}.*{tmp_path / 'tfds'}"):
        data.load_mnist_arrays(None)
    assert time.monotonic() - start < 30


def test_real_mnist_pipelines(mnist_dir):
    mnist = data.mnist(batch_size=100, data_dir=mnist_dir, binarization="dynamic")
    assert mnist.train_size == 60000 and len(mnist.test_images) == 10000
    images, labels = next(iter(mnist.train))
    assert images.shape == (100, 28, 28, 1) and images.dtype.name == "float32"
    assert set(np.unique(images.numpy())) <= {0.0, 1.0}
    assert labels.shape == (100,) and 0 <= labels.numpy().min() and labels.numpy().max() <= 9
    assert np.bincount(mnist.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    # The test set is binarized once, with a fixed seed: the same on every load.
    again = data.mnist(batch_size=100, data_dir=mnist_dir, binarization="dynamic")
    np.testing.assert_array_equal(mnist.test_images, again.test_images)
    test_batches = np.concatenate([x.numpy() for x, _ in mnist.test])
    np.testing.assert_array_equal(test_batches, mnist.test_images)


def epochs_of(dataset, epochs):
    """The batches of `epochs` passes over `dataset` under one iterator, as the training core reads it."""
    steps = sum(1 for _ in dataset)
    return [x.numpy() for x, _ in dataset.repeat().take(epochs * steps)]


def test_dynamic_binarization_draws_afresh_every_epoch_and_alike_in_every_run(mnist_dir):
    runs = [epochs_of(data.mnist(batch_size=100, data_dir=mnist_dir, binarization="dynamic", train_limit=5000).train,
                      2) for _ in range(2)]
    assert all(np.array_equal(a, b) for a, b in zip(*runs))  # the same seed: the same draws, whatever the threads
    first, second = runs[0][:50], runs[0][50:]
    assert not any(np.array_equal(a, b) for a in first for b in second)  # epoch 2 draws afresh
    other_seed = epochs_of(data.mnist(batch_size=100, data_dir=mnist_dir, binarization="dynamic", train_limit=5000,
                                      seed=1).train, 1)
    assert not any(np.array_equal(a, b) for a, b in zip(other_seed, first))
    arrays = data.read_mnist_dir(mnist_dir)
    mnist = data.mnist(batch_size=100, data_dir=mnist_dir, binarization="dynamic", train_limit=100)
    first = next(iter(mnist.train))[0].numpy()
    # Pixel means follow the grey levels: dynamic binarization is unbiased.
    grey = arrays["train"][0][:100].astype(np.float32).mean() / 255
    assert abs(first.mean() - grey) < 0.01


def test_threshold_binarization_is_fixed(mnist_dir):
    mnist = data.mnist(batch_size=100, data_dir=mnist_dir, binarization="threshold", train_limit=100)
    first, second = (np.sort(next(iter(mnist.train))[0].numpy().reshape(100, -1), axis=0) for _ in range(2))
    np.testing.assert_array_equal(first, second)
