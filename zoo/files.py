"""Files that outlive a process (layer 1: no TensorFlow): atomic writes, fingerprints of data files, checked reads
of what a run wrote earlier (`read_json`, `Number`, `ListOf`, `MapOf`, `Record`, `fault`: a file read back is
untrusted input), and `ResultStore`, the one resume-and-reuse cache of finished results that the experiment recipes
share."""

import contextlib
import errno
import fcntl
import functools
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
# A file being written under a temporary name: the prefix, the writer's pid, "-", the final name. Only files of
# this form whose writer is gone are removed (`remove_temporaries`); a user's "tmp-1-notes.txt" is not one.
TEMPORARY_PREFIX = ".zoo-partial-"
# Marks a directory the zoo made (a run dir, a search dir, a recipe's output dir): the zoo reuses, replaces and
# deletes inside a directory only when it holds this file (`owned_dir`).
OWNER_FILE = ".zoo"
RUN_DIR = "the run dir"  # the purpose of a training run's directory (zoo.training)
LOCK_FILE = ".lock"
# What an export writes into an artifact directory (zoo.export), besides the figures (*.png): an existing directory
# holding anything else, or a symbolic link, is not an artifact the zoo may replace.
ARTIFACT_ENTRIES = frozenset({"saved_model.pb", "fingerprint.pb", "variables", "assets", "model.keras", "card.json"})


def is_disk_full(error):
    """True if `error` (an OSError, or e.g. TensorFlow's ResourceExhaustedError) says the disk, a quota or a
    file-size limit is full."""
    return getattr(error, "errno", None) in DISK_FULL_ERRNOS or any(words in str(error) for words in DISK_FULL_WORDS)


def temporary_sibling(path):
    """The temporary name `path` is written under before it is renamed into place: same directory (so the rename
    is atomic), same suffix (Keras insists on .keras), this process's pid."""
    path = Path(path)
    return path.with_name(f"{TEMPORARY_PREFIX}{os.getpid()}-{path.name}")


def _os_errors_as_problems(problem_of):
    """`problem_of(path, ...)`, answering a path the OS refuses to look at (a name too long, a NUL byte) with a
    problem instead of an exception."""
    @functools.wraps(problem_of)
    def checked(path, *args, **kwargs):
        if path is not None and "\0" in str(path):
            return f"{str(path)!r} holds a NUL byte, which no path can"
        try:
            return problem_of(path, *args, **kwargs)
        except OSError as error:
            return f"cannot use {path}: {error.strerror}"
    return checked


@_os_errors_as_problems
def writable_file_problem(path):
    """Why a file may not be written at `path` by a rename over it, or None: a rename would put a regular file in
    the place of a directory, a device (as root, /dev/null itself) or a FIFO."""
    if path is None or str(path) == "":
        return "an empty path names no file"
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a device, FIFO or socket)"
        return f"{path} is {kind}"
    return None


@contextlib.contextmanager
def replaced_atomically(path, kept):
    """Yields a temporary path beside `path` for the block to write; renames it to `path` once the block succeeds.

    On any failure the temporary file is removed and `path` is untouched; a full disk is raised as DiskFull, one
    line saying what was being written and `kept` (what is still intact). A `path` that is a directory, a device or
    a FIFO is refused (a ZooError): renaming a file over it would replace it."""
    problem = writable_file_problem(path)
    if problem:
        raise ZooError(f"cannot write {path}: {problem}")
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


def process_alive(pid):
    """Whether a process `pid` exists (perhaps under another user); True where that cannot be told (a number no pid
    can be), so that nothing is removed on a guess."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):  # another user's process, or no pid at all
        return True
    return True


def left_by_dead_process(path, prefix, separator="-"):
    """True if `path`'s name is `prefix`<pid><separator>... (ASCII digits) and that process is gone: what an
    interrupted writer left behind, which no live process owns."""
    rest = path.name[len(prefix):] if path.name.startswith(prefix) else ""
    pid, found, _ = rest.partition(separator)
    return bool(found and pid.isascii() and pid.isdigit() and int(pid) != os.getpid()
                and not process_alive(int(pid)))


def remove_temporaries(directory):
    """Removes the temporary files that writes interrupted by a kill left in `directory`: regular files (never
    symbolic links) named by `temporary_sibling` whose writer is gone."""
    for leftover in Path(directory).glob(f"{TEMPORARY_PREFIX}*"):
        if not leftover.is_symlink() and leftover.is_file() and left_by_dead_process(leftover, TEMPORARY_PREFIX):
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
    lock_file = Path(lock_file).parent.resolve() / Path(lock_file).name  # the link itself, if it is one
    if lock_file in _HELD_LOCKS:
        return
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    try:  # never through a symbolic link: truncating it would truncate its target
        descriptor = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ZooError(f"{lock_file} is a symbolic link, not a lock file the zoo made; remove it") from None
        raise ZooError(f"cannot make the lock {lock_file}: {error.strerror}") from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise ZooError(f"{lock_file} is not a regular file, not a lock file the zoo made; remove it")
    handle = open(descriptor, "a+")
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


def _first_symlink(directory):
    """The first symbolic link inside `directory` (at any depth, links not followed), or None."""
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            if os.path.islink(os.path.join(root, name)):
                return Path(root) / name
    return None


def _creatable_problem(path):
    """Why `path` cannot be made (an ancestor is a file), or None."""
    for ancestor in Path(path).absolute().parents:
        if ancestor.exists() or ancestor.is_symlink():
            return None if ancestor.is_dir() else f"cannot make {path}: {ancestor} is a file, not a directory"
    return None


def _is_lock(name):
    """A lock file's name: this dir's own (LOCK_FILE) or an export dir's beside it (.<name>.lock)."""
    return name == LOCK_FILE or name.startswith(".") and name.endswith(".lock")


def _listing(directory, skip_locks=False):
    names = sorted(entry.name for entry in Path(directory).iterdir()
                   if not (skip_locks and (_is_lock(entry.name) or entry.name.startswith(TEMPORARY_PREFIX))))
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


@_os_errors_as_problems
def owned_dir_problem(path, purpose):
    """Why `path` cannot be used as `purpose` (e.g. "the run dir"), a directory the zoo writes, reuses and deletes
    in, or None: it must be new, empty, or marked as the zoo's (OWNER_FILE) for the same purpose, and hold no
    symbolic links. No side effects, so that flags can check it before any work starts."""
    if path is None or str(path) == "":
        return f"{purpose} cannot be an empty path; name a directory"
    path = Path(path)
    if path.exists() and not path.is_dir() or path.is_symlink() and not path.exists():
        return f"{purpose} {path} is a file, not a directory; name a new directory or one the zoo made"
    if not path.exists():
        return _creatable_problem(path)
    marker = path / OWNER_FILE
    if marker.is_symlink() or marker.exists() and not marker.is_file():
        return (f"{marker} is not a marker the zoo wrote (a link or a directory); choose another directory for "
                f"{purpose}")
    if marker.exists():
        try:
            owner = json.loads(marker.read_text()).get("purpose")
        except (OSError, ValueError, AttributeError):
            return f"{marker} cannot be read as the zoo's marker; choose another directory for {purpose}"
        if owner != purpose:
            return f"{path} is {owner} of the zoo, not {purpose}; choose another directory"
    elif _listing(path, skip_locks=True):  # locks, and the marker being written, hold nothing of the user's
        return (f"{purpose} {path} is an existing directory the zoo did not make (it holds {_listing(path)}); the zoo "
                f"writes and deletes in {purpose}, so it takes only a new or empty directory, or one it made (marked by "
                f"{OWNER_FILE}): choose another")
    link = _first_symlink(path)
    if link:
        return (f"{link} is a symbolic link inside {purpose} {path}; the zoo reads and writes only files it made "
                "there: remove the link or choose another directory")
    return None


def owned_dir(path, purpose, lock=True):
    """Makes or reuses `path` as `purpose` (see `owned_dir_problem`; a ZooError if it cannot be), takes its lock for
    the rest of this process (unless `lock` is False: processes that share it by design) and marks it as the zoo's.
    Returns it as a Path."""
    problem = owned_dir_problem(path, purpose)
    if problem:
        raise ZooError(problem)
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ZooError(f"cannot make {purpose} {path}: {error.strerror}") from None
    if lock:
        hold_lock(path / LOCK_FILE, f"{purpose} {path}")
    if not (path / OWNER_FILE).exists():
        atomic_write_text(path / OWNER_FILE, json.dumps({"made_by": "the zoo", "purpose": purpose}) + "\n")
    return path


@_os_errors_as_problems
def export_dir_problem(path, keep_clear_of=()):
    """Why an export may not write (and replace) `path`, or None: it must be new, empty or an artifact the zoo
    exported (card.json, saved_model.pb and only what an export writes, no symbolic links), and neither be nor hold
    any directory of `keep_clear_of` (e.g. the run dir, whose checkpoint a replaced export dir would take along)."""
    if path is None or str(path) == "":
        return "the export dir cannot be an empty path here"
    path = Path(path)
    if path.is_symlink():
        return f"the export dir {path} is a symbolic link; name the directory itself"
    if path.exists() and not path.is_dir():
        return f"the export dir {path} is a file, not a directory; name a new directory or an artifact to replace"
    for other in keep_clear_of:
        if other and (path.resolve() == Path(other).resolve() or path.resolve() in Path(other).resolve().parents):
            return (f"the export dir {path} is or holds {other}, which an export would replace; name a directory "
                    "outside it")
    if not path.exists():
        return _creatable_problem(path)
    entries = {entry.name for entry in path.iterdir()}
    foreign = sorted(name for name in entries if name not in ARTIFACT_ENTRIES and not name.endswith(".png"))
    if entries and (foreign or not {"card.json", "saved_model.pb"} <= entries):
        held = f"it holds {', '.join(foreign[:3])}" if foreign else "it holds no card.json and saved_model.pb"
        return (f"the export dir {path} is an existing directory that is not an artifact of the zoo ({held}); an "
                "export replaces its whole directory: name a new directory or an artifact to replace")
    link = _first_symlink(path)
    if link:
        return f"{link} is a symbolic link inside the export dir {path}; an export replaces only what it wrote"
    return None


def claim_export_dir(path, keep_clear_of=()):
    """Checks `path` as an export target (`export_dir_problem`; a ZooError if it may not be one) and takes its lock
    (beside it: .<name>.lock) for the rest of this process, so that no other process exports there meanwhile."""
    problem = export_dir_problem(path, keep_clear_of)
    if problem:
        raise ZooError(problem)
    path = Path(path)
    hold_lock(path.parent / f".{path.name}.lock", f"the export dir {path}")
    return path


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
