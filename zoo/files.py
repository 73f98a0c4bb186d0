"""Files that outlive a process (layer 1: no TensorFlow): atomic writes, fingerprints of data files, checked reads
of what a run wrote earlier (`read_json`, `Number`, `ListOf`, `MapOf`, `Record`, `fault`: a file read back is
untrusted input), and `ResultStore`, the one resume-and-reuse cache of finished results that the experiment recipes
share."""

import contextlib
import errno
import fcntl
import hashlib
import json
import math
import os
import stat
import subprocess
from pathlib import Path

from zoo.errors import DiskFull, ZooError

DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
# How TensorFlow's C++ file system and HDF5 word the same errors in exceptions that carry no errno.
DISK_FULL_WORDS = ("No space left on device", "Disk quota exceeded", "File too large")
TEMPORARY_PREFIX = "tmp-"


def is_disk_full(error):
    """True if `error` (an OSError, or e.g. TensorFlow's ResourceExhaustedError) says the disk, a quota or a
    file-size limit is full."""
    return getattr(error, "errno", None) in DISK_FULL_ERRNOS or any(words in str(error) for words in DISK_FULL_WORDS)


def temporary_sibling(path):
    """The temporary name `path` is written under before it is renamed into place: same directory (so the rename
    is atomic), same suffix (Keras insists on .keras), this process's pid."""
    path = Path(path)
    return path.with_name(f"{TEMPORARY_PREFIX}{os.getpid()}-{path.name}")


@contextlib.contextmanager
def replaced_atomically(path, kept):
    """Yields a temporary path beside `path` for the block to write; renames it to `path` once the block succeeds.

    On any failure the temporary file is removed and `path` is untouched; a full disk is raised as DiskFull, one
    line saying what was being written and `kept` (what is still intact)."""
    tmp = temporary_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.truncate(tmp, 0)  # frees its space now, even while a failed writer still holds it open
            tmp.unlink()
        if isinstance(error, Exception) and is_disk_full(error):
            raise DiskFull(f"the disk is full: writing {path} failed; {kept}") from None
        raise


def remove_temporaries(directory):
    """Removes the temporary files interrupted writes left in `directory` (call it only while holding the
    directory's lock, so that no live writer owns them)."""
    for leftover in Path(directory).glob(f"{TEMPORARY_PREFIX}[0-9]*-*"):
        if leftover.is_file():
            leftover.unlink(missing_ok=True)


def atomic_write_text(path, text, kept=None):
    """Writes `text` to `path` through a temporary file and a rename, so readers never see half a file."""
    kept = kept or (f"{path} still holds its previous contents" if Path(path).exists() else "nothing was written")
    with replaced_atomically(path, kept) as tmp:
        tmp.write_text(text)


def settings_mismatch(saved, current, ignored=()):
    """"(a=1 there, a=2 now)" for the settings that differ between two dicts (except `ignored`), or None."""
    changed = sorted(k for k in set(saved) | set(current) if k not in ignored and saved.get(k) != current.get(k))
    if not changed:
        return None
    there = ", ".join(f"{k}={saved.get(k)}" for k in changed)
    now = ", ".join(f"{k}={current.get(k)}" for k in changed)
    return f"({there} there, {now} now)"


def fingerprint(paths):
    """A short SHA-256 over the names and bytes of `paths`: results computed on other data never match it."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        digest.update(path.name.encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def git_commit():
    """The zoo's git commit ("-dirty" if tracked files changed), or "unknown" outside a git checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


_HELD_LOCKS = {}  # lock file -> its open file, kept for the life of the process


def hold_lock(lock_file, what):
    """Takes an exclusive OS lock on `lock_file` for the rest of this process's life (the OS releases it when the
    process ends, however it ends), so that two processes never write the same run, search or artifact. If
    another process holds it: a ZooError naming that process's pid and `what` it protects. Taking a lock this
    process already holds does nothing."""
    lock_file = Path(lock_file).resolve()
    if lock_file in _HELD_LOCKS:
        return
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_file, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise ZooError(f"{what} is in use by process {holder} (lock {lock_file}); wait for it to end or choose "
                       "another directory") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    _HELD_LOCKS[lock_file] = handle


def present(path):
    """Whether anything is at `path`, a dangling symbolic link too (which `Path.exists` calls absent)."""
    return os.path.lexists(path)


# The largest JSON file a cache or checkpoint may be (anomaly.json, the largest the zoo writes, holds a few MB).
MAX_JSON_BYTES = 64 << 20


def read_json(path, limit=MAX_JSON_BYTES):
    """The JSON value in the regular file `path` (a symbolic link is followed to one). A ValueError says why there is
    none: the file is not a regular file (a directory, a device such as /dev/zero, a pipe: never read), is larger than
    `limit` bytes, cannot be opened, or is not UTF-8 JSON."""
    try:
        handle = os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb")  # a pipe's open must not wait
    except OSError as error:
        raise ValueError(error.strerror or str(error)) from None
    with handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ValueError("not a regular file")
        text = handle.read(limit + 1)
    if len(text) > limit:
        raise ValueError(f"larger than {limit} bytes")
    try:
        return json.loads(text)  # a JSONDecodeError or UnicodeDecodeError is a ValueError
    except RecursionError:
        raise ValueError("nested too deeply") from None


# What a value read back must be: `fault(value, schema)` says why it is not, or None. A schema is one of these classes,
# a type (str, bool, dict, ...), a tuple of schemas (any one of them), or a set of the allowed values.

class Number:
    """A finite number in [low, high] (an integer if `integer`); a bool is neither."""

    def __init__(self, low=-math.inf, high=math.inf, integer=False):
        self.low, self.high, self.integer = low, high, integer

    def fault(self, value):
        if isinstance(value, bool) or not isinstance(value, int if self.integer else (int, float)):
            return f"{value!r:.60} is not {'an integer' if self.integer else 'a number'}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"{value!r} is not finite"
        if not self.low <= value <= self.high:
            return f"{value!r:.60} is outside [{self.low}, {self.high}]"
        return None


class ListOf:
    """A list of `least` to `most` values of `schema`."""

    def __init__(self, schema, least=0, most=math.inf):
        self.schema, self.least, self.most = schema, least, most

    def fault(self, value):
        if not isinstance(value, list):
            return f"{value!r:.60} is not a list"
        if not self.least <= len(value) <= self.most:
            return f"a list of {len(value)} values (from {self.least} to {self.most})"
        return next((f"[{i}]: {why}" for i, item in enumerate(value) if (why := fault(item, self.schema))), None)


class MapOf:
    """A JSON object whose every value is of `schema`, or of `schema_of(key)`."""

    def __init__(self, schema=None, schema_of=None):
        self.schema_of = schema_of or (lambda key: schema)

    def fault(self, value):
        if not isinstance(value, dict):
            return f"{value!r:.60} is not an object"
        return next((f"{key}: {why}" for key, item in value.items() if (why := fault(item, self.schema_of(key)))),
                    None)


class Record:
    """A JSON object with the `fields` {name: schema} (the `optional` ones may be missing) and no others unless
    `others` is a schema of theirs."""

    def __init__(self, fields, optional=(), others=None):
        self.fields, self.optional, self.others = fields, set(optional), others

    def fault(self, value):
        if not isinstance(value, dict):
            return f"{value!r:.60} is not an object"
        missing = [name for name in self.fields if name not in value and name not in self.optional]
        if missing:
            return f"{missing[0]} is missing"
        for name, item in value.items():
            schema = self.fields.get(name, self.others)
            if schema is None:
                return f"{name!r:.60} is not a field of it"
            why = fault(item, schema)
            if why:
                return f"{name}: {why}"
        return None


def fault(value, schema):
    """Why `value` does not fit `schema` (see Number), or None."""
    if isinstance(schema, tuple):
        faults = [fault(value, option) for option in schema]
        return None if None in faults else " and ".join(faults)
    if isinstance(schema, (set, frozenset)):
        return None if _hashable(value) and value in schema else f"{value!r:.60} is not one of {sorted(map(str, schema))}"
    if isinstance(schema, type):
        return None if isinstance(value, schema) and not (schema is int and isinstance(value, bool)) \
            else f"{value!r:.60} is not {schema.__name__}"
    return schema.fault(value)


def _hashable(value):
    return not isinstance(value, (list, dict))


def _json_ready(value):
    return json.loads(json.dumps(value))


class ResultStore:
    """A JSON file of finished results (`key -> value`) that a rerun reuses, so an interrupted experiment
    continues where it stopped.

    Entries are reused only while the `settings` that define them and the `data` fingerprint they were
    computed on are unchanged, and only if `validate` accepts them. Other settings in the same file are refused
    (`other_settings="refuse"`, a ZooError naming the difference) or start the file afresh (`"recompute"`, with a
    line naming the difference); other data always starts it afresh, with a line saying so. A file that cannot be
    read as a results file is moved aside (to <name>.damaged) and the results recomputed, with a line saying so; an
    entry that `validate` refuses is recomputed, with a line saying why. Every `put` rewrites the file atomically
    (a symbolic link in its place is replaced, its target left alone).

    Args:
      path: the JSON file.
      settings: JSON-able dict of what defines the results.
      data: fingerprint of the data they are computed on (`fingerprint(...)`, or a dataset's name).
      other_settings: "refuse" or "recompute".
      extra: more JSON-able entries written beside the results (e.g. the command).
      validate: the schema of every value (see `fault`), or a function (key, value) -> why it is not a good
        result (None if it is): results read back are untrusted input.
    """

    def __init__(self, path, settings, data, other_settings="refuse", extra=None, validate=None):
        if other_settings not in ("refuse", "recompute"):
            raise ValueError(f"other_settings must be 'refuse' or 'recompute'; received {other_settings!r}")
        self.path, self.settings, self.data = Path(path), _json_ready(settings), data
        self.extra = _json_ready(extra or {})
        self.validate = validate if callable(validate) else (lambda key, value: validate and fault(value, validate))
        self.results = {}
        saved = self._read() if present(self.path) else None
        if saved is None:
            return
        mismatch = settings_mismatch(saved["settings"], self.settings)
        if mismatch and other_settings == "refuse":
            raise ZooError(f"{self.path} holds results of other settings {mismatch}; rerun with the same "
                           "settings to reuse them, or choose another output directory")
        if mismatch:
            print(f"{self.path} holds results of other settings {mismatch}: they are recomputed", flush=True)
        elif saved["data"] != data:
            print(f"the data changed since {self.path} was written (fingerprint {saved['data']} there, "
                  f"{data} now): its results are recomputed", flush=True)
        else:
            for key, value in saved["results"].items():
                why = self.validate(key, value)
                if why:
                    print(f"{self.path}: the result {key!r} is damaged ({why}): it is recomputed", flush=True)
                else:
                    self.results[key] = value

    def _read(self):
        """The file's settings, data and results, or None (after a line saying why) if it is not a results file."""
        try:
            saved = read_json(self.path)
            why = fault(saved, Record({"settings": dict, "data": (str, type(None)), "results": dict},
                                      others=object))
        except ValueError as error:
            why = str(error)
        if not why:
            return saved
        aside = self.path.with_name(self.path.name + ".damaged")
        try:
            os.replace(self.path, aside)
        except OSError as error:
            raise ZooError(f"{self.path}: not a results file of this zoo ({why}), and it cannot be moved aside "
                           f"({error.strerror}); move it away to start afresh") from None
        print(f"{self.path}: not a results file of this zoo ({why}): moved to {aside}; its results are recomputed",
              flush=True)
        return None

    def __contains__(self, key):
        return key in self.results

    def __getitem__(self, key):
        return self.results[key]

    def put(self, key, value):
        """Records `value` under `key` and rewrites the file."""
        self.results[key] = _json_ready(value)
        atomic_write_text(self.path, json.dumps({**self.extra, "settings": self.settings, "data": self.data,
                                                 "results": self.results}, indent=1) + "\n")
