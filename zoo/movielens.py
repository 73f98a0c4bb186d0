"""MovieLens 100K ratings: reading `u.data` (or tensorflow-datasets), random splits, rating matrices.

`u.data` holds one rating per line: user id, item id, rating (1..5) and timestamp, tab-separated.
Ids may be any integers in 1..MAX_ID; `load_ratings` renumbers them densely 1..n in their sorted order (MovieLens
100K's already are, so its numbers are unchanged), and arrays here use them minus one as row and column indices:
a file with a user id of 99999999 makes a matrix with one row per user it has, not 99999999 rows.
"""

import os
from pathlib import Path

import numpy as np

from zoo import files
from zoo.data import tfds_reachable
from zoo.errors import DataError

MOVIELENS_DIR_ENV = "ZOO_MOVIELENS_DIR"
TFDS_NAME = "movielens/100k-ratings"
MAX_ID = 2**31 - 1  # ids beyond it are refused (they cannot be int32 keys)
MAX_LINE_CHARS = 200  # a u.data line is about 20 characters; a longer one is refused as soon as it is read
MAX_RATINGS = 2_000_000  # more than MovieLens 1M holds; a longer file is refused while it is read
MAX_MATRIX_BYTES = 2**30  # one dense float32 users x items matrix (MovieLens 100K's: 6 MB, 1M's: 90 MB)
DEFAULT_RATING = 3.0  # predicted for users or items without training ratings, as in Sedhain et al., 2015


def read_u_data(path):
    """[n, 3] int64 (user, item, rating) from a `u.data` file, ids as in the file; a bad row, or a second rating
    of the same user and item, raises DataError naming its line. The whole file is checked before it is used."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} is not a regular file: the MovieLens 100K directory must hold u.data" if path.exists()
                        else f"{path} does not exist: the MovieLens 100K directory must hold u.data")
    rows, first_line = [], {}
    with open(path, encoding="latin-1") as file:
        for number, line in enumerate(iter(lambda: file.readline(MAX_LINE_CHARS + 1), ""), start=1):
            if len(line.rstrip("\n")) > MAX_LINE_CHARS:
                raise DataError(f"{path}, line {number}: longer than {MAX_LINE_CHARS} characters: {_shown(line)}")
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 4:
                raise DataError(f"{path}, line {number}: expected 4 tab-separated fields (user, item, rating, "
                                f"timestamp); found {len(fields)}: {_shown(line)}")
            try:
                user, item, rating, _ = (int(field) for field in fields)
            except ValueError:
                raise DataError(f"{path}, line {number}: user, item, rating and timestamp must be integers; "
                                f"found {_shown(line)}") from None
            if not (1 <= user <= MAX_ID and 1 <= item <= MAX_ID):
                raise DataError(f"{path}, line {number}: user and item ids must be in 1..{MAX_ID}; "
                                f"found {_shown(line)}")
            if not 1 <= rating <= 5:
                raise DataError(f"{path}, line {number}: ratings must be 1..5; found {rating}")
            if len(rows) == MAX_RATINGS:
                raise DataError(f"{path}, line {number}: more than {MAX_RATINGS} ratings; MovieLens 100K has 100000")
            if (user, item) in first_line:
                raise DataError(f"{path}, line {number}: user {user} rated item {item} already on line "
                                f"{first_line[user, item]}; each pair is rated once")
            first_line[user, item] = number
            rows.append((user, item, rating))
    if not rows:
        raise DataError(f"{path} holds no ratings")
    return np.asarray(rows, np.int64)


def _shown(line):
    """A line of u.data as an error message quotes it: stripped, at most 80 characters."""
    line = line.strip()
    return repr(line[:80]) + ("..." if len(line) > 80 else "")


def dense_ids(rows):
    """`rows` with user and item ids renumbered 1..n in their sorted order (unchanged where they already are)."""
    renumbered = rows.copy()
    for column in (0, 1):
        renumbered[:, column] = np.unique(rows[:, column], return_inverse=True)[1].reshape(-1) + 1
    return renumbered


def _read_tfds():
    import tensorflow_datasets as tfds

    builder = tfds.builder(TFDS_NAME, data_dir=os.environ.get("TFDS_DATA_DIR"))  # read now, not at tfds import
    if not Path(builder.data_dir).exists() and not tfds_reachable():
        raise DataError(f"no MovieLens 100K found: no directory was given (--data-dir or {MOVIELENS_DIR_ENV}) and "
                        "tensorflow-datasets cannot download it (no connection). Get u.data from GroupLens and pass "
                        f"its directory with --data-dir or {MOVIELENS_DIR_ENV}.")
    builder.download_and_prepare()
    table = tfds.as_numpy(builder.as_dataset(split="train", batch_size=-1))
    return np.stack([table["user_id"].astype(np.int64), table["movie_id"].astype(np.int64),
                     table["user_rating"].astype(np.int64)], axis=1)


def source(data_dir=None):
    """What `load_ratings(data_dir)` reads: the path of u.data, or the tensorflow-datasets name."""
    data_dir = data_dir or os.environ.get(MOVIELENS_DIR_ENV)
    return Path(data_dir) / "u.data" if data_dir else f"tensorflow-datasets:{TFDS_NAME}"


def load_ratings(data_dir=None):
    """(user, item, rating) rows with dense ids (see `dense_ids`) from `data_dir`/u.data, else $ZOO_MOVIELENS_DIR,
    else tensorflow-datasets; DataError naming the file where the users x items rating matrix would be larger than
    MAX_MATRIX_BYTES."""
    read_from = source(data_dir)
    ratings = dense_ids(read_u_data(read_from) if isinstance(read_from, Path) else _read_tfds())
    users, items = matrix_shape(ratings)
    if users * items * 4 > MAX_MATRIX_BYTES:
        raise DataError(f"{read_from}: {users} users and {items} items would make a rating matrix of "
                        f"{users * items * 4 / 2**30:.1f} GiB (float32); at most {MAX_MATRIX_BYTES / 2**30:g} GiB")
    return ratings


def matrix_shape(ratings):
    """(users, items) of the rating matrix of `ratings` (dense ids 1..n)."""
    return int(ratings[:, 0].max()), int(ratings[:, 1].max())


def splittable(ratings, data_dir=None):
    """`ratings`, once checked to hold at least MIN_RATINGS, so that every part of a `split` holds one or more;
    DataError naming the file, the count and the minimum otherwise."""
    if len(ratings) < MIN_RATINGS:
        raise DataError(f"{source(data_dir)}: {len(ratings)} ratings; at least {MIN_RATINGS} are needed, so that the "
                        "training, validation and test parts of each split hold one or more")
    return ratings


def ratings_fingerprint(data_dir=None):
    """What `load_ratings(data_dir)` reads, as a fingerprint of u.data's bytes (see zoo.files.fingerprint), or the
    tensorflow-datasets name: results computed on other ratings never match it."""
    read_from = source(data_dir)
    return files.fingerprint([read_from]) if isinstance(read_from, Path) else read_from


def split(ratings, seed, test_fraction=0.1, validation_fraction=0.1):
    """(train, validation, test) rows: a random `test_fraction` for testing, then `validation_fraction` of the
    rest held out for early stopping."""
    order = np.random.default_rng(seed).permutation(len(ratings))
    n_test = int(round(test_fraction * len(ratings)))
    n_validation = int(round(validation_fraction * (len(ratings) - n_test)))
    test, rest = order[:n_test], order[n_test:]
    return ratings[rest[n_validation:]], ratings[rest[:n_validation]], ratings[test]


# the fewest ratings whose split has every part non-empty (the parts' sizes depend on the count only)
MIN_RATINGS = next(n for n in range(1, 1000) if all(len(part) for part in split(np.zeros((n, 3)), 0)))


def rating_matrix(rows, shape):
    """(ratings, observed) dense float32 [users, items] matrices from (user, item, rating) rows."""
    ratings = np.zeros(shape, np.float32)
    ratings[rows[:, 0] - 1, rows[:, 1] - 1] = rows[:, 2]
    return ratings, (ratings > 0).astype(np.float32)


def rmse(predictions, rows):
    """Root mean squared error of predictions [n] against the rows' ratings."""
    return float(np.sqrt(np.mean((np.asarray(predictions, np.float64) - rows[:, 2]) ** 2)))
