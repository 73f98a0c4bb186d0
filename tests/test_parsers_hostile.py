"""Property tests of the data parsers: any bytes in an IDX file and any line in a MovieLens u.data either parse
into what their headers and fields say or raise a DataError naming the file; never another exception."""

import gzip
import math
import struct

import numpy as np
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
