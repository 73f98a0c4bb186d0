"""Property tests of the data parsers: any bytes in an IDX file and any line in a MovieLens u.data either parse
into what their headers and fields say or raise a DataError naming the file; never another exception."""

import gzip
import math
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo import movielens
from zoo.data import read_idx
from zoo.errors import DataError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def idx_files(draw):
    """IDX-like bytes: a header with any type and dims, then a payload of about (and sometimes exactly) the size
    it promises; or plain random bytes."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=64))
    type_code = draw(st.sampled_from([0x08, 0x08, 0x08, 0x09, 0x0D, 0xFF]))
    shape = draw(st.lists(st.one_of(st.integers(0, 6), st.integers(0, 2**32 - 1)), min_size=0, max_size=4))
    header = bytes([0, 0, type_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
    promised = math.prod(shape) if shape else 0
    size = draw(st.sampled_from([promised, promised - 1, promised + 1, 0])) if promised < 10_000 else draw(
        st.integers(0, 64))
    magic = draw(st.sampled_from([b"", b"\x01"]))
    return magic[:1] + header[len(magic[:1]):] + draw(st.binary(min_size=max(size, 0), max_size=max(size, 0)))


@SETTINGS
@given(raw=idx_files(), compressed=st.booleans())
def test_any_idx_bytes_parse_as_promised_or_raise_a_data_error_naming_the_file(tmp_path, raw, compressed):
    path = tmp_path / ("file.gz" if compressed else "file")
    path.write_bytes(gzip.compress(raw) if compressed else raw)
    try:
        array = read_idx(path)
    except DataError as error:
        assert str(path) in str(error)
        return
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    assert array.dtype == np.uint8 and array.shape == shape
    assert array.tobytes() == raw[4 + 4 * ndim:]


@SETTINGS
@given(tail=st.binary(min_size=1, max_size=40))
def test_a_cut_gzip_stream_is_a_data_error(tmp_path, tail):
    path = tmp_path / "file.gz"
    whole = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 200]) + bytes(range(200)))
    path.write_bytes(whole[:len(whole) // 2] + tail)
    try:
        read_idx(path)
    except DataError as error:
        assert str(path) in str(error)


FIELD = st.one_of(st.integers(-3, 10).map(str), st.integers(-2**70, 2**70).map(str), st.text(max_size=6),
                  st.sampled_from(["1.5", " 3", "3 ", "", "nan", "1e3", "٣"]))


@SETTINGS
@given(rows=st.lists(st.lists(FIELD, min_size=2, max_size=5).map("\t".join), min_size=1, max_size=5))
def test_any_u_data_lines_parse_into_checked_rows_or_raise_a_data_error_naming_the_line(tmp_path, rows):
    (tmp_path / "u.data").write_text("\n".join(rows) + "\n", encoding="latin-1", errors="replace")
    try:
        ratings = movielens.load_ratings(tmp_path)
    except DataError as error:
        assert str(tmp_path / "u.data") in str(error)
        return
    assert ratings.dtype == np.int64 and ratings.shape[1] == 3
    assert ((ratings[:, 2] >= 1) & (ratings[:, 2] <= 5)).all()
    for column in (0, 1):  # dense ids: 1..n, every one used
        assert sorted(set(ratings[:, column])) == list(range(1, len(set(ratings[:, column])) + 1))
    pairs = {tuple(row) for row in ratings[:, :2]}
    assert len(pairs) == len(ratings)


def bomb(path, header, payload_bytes):
    """A gzipped IDX file: `header`, then `payload_bytes` zeros (a few hundred kB on disk for 100 MB inside)."""
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(header)
        for start in range(0, payload_bytes, 2**20):
            handle.write(bytes(min(2**20, payload_bytes - start)))
    return path


def peak_bytes_of(function, *args):
    """(what `function(*args)` raised, the most memory Python held at once while it ran, beyond what it held before)."""
    import tracemalloc

    tracemalloc.start()
    try:
        function(*args)
        raised = None
    except Exception as error:  # noqa: BLE001  (the caller checks what it is)
        raised = error
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return raised, peak


@pytest.mark.parametrize("header, expected_shape, says", [
    (bytes([0, 0, 8, 1]) + struct.pack(">I", 10), None, "holds more than"),  # 10 bytes promised, 100 MB inside
    (bytes([0, 0, 8, 3]) + struct.pack(">3I", 3_000_000, 28, 28), (60_000, 28, 28), "expected shape"),
    (bytes([0, 0, 8, 2]) + struct.pack(">2I", 2**32 - 1, 2**32 - 1), None, "more than the largest MNIST file"),
], ids=["more than promised", "more than MNIST's training images", "a promise beyond any MNIST file"])
def test_a_gzip_bomb_is_refused_before_it_is_decompressed(tmp_path, header, expected_shape, says):
    path = bomb(tmp_path / "train-images-idx3-ubyte.gz", header, 100_000_000)
    error, peak = peak_bytes_of(read_idx, path, expected_shape)
    assert peak < 2_000_000, f"{peak:,} bytes held at once"
    assert isinstance(error, DataError) and str(path) in str(error) and says in str(error), error


def test_an_mnist_directory_with_a_bomb_is_one_data_error_naming_the_file(tmp_path):
    from zoo.data import read_mnist_dir

    path = bomb(tmp_path / "train-images-idx3-ubyte.gz", bytes([0, 0, 8, 3]) + struct.pack(">3I", 60_000, 28, 28),
                200_000_000)
    error, peak = peak_bytes_of(read_mnist_dir, tmp_path)
    assert peak < 60_000_000, f"{peak:,} bytes held at once"  # the 47 MB MNIST promises, not the 200 MB inside
    assert isinstance(error, DataError) and str(path) in str(error) and "holds more than" in str(error), error


def test_an_mnist_file_larger_than_any_mnist_file_is_refused_before_it_is_read_or_hashed(tmp_path):
    from zoo.data import mnist_fingerprint

    for name in ("train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / name).write_bytes(b"")
    path = tmp_path / "train-images-idx3-ubyte"
    with open(path, "wb") as handle:
        handle.truncate(2**31)  # 2 GiB, sparse: nothing is written
    error, _ = peak_bytes_of(mnist_fingerprint, tmp_path)
    assert isinstance(error, DataError) and str(path) in str(error) and "larger than any MNIST file" in str(error), error
