"""Files that outlive a process (layer 1: no TensorFlow): atomic writes, fingerprints of data files, and
`ResultStore`, the one resume-and-reuse cache of finished results that the experiment recipes share."""

import contextlib
import errno
import fcntl
import hashlib
import json
import os
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


def _json_ready(value):
    return json.loads(json.dumps(value))


class ResultStore:
    """A JSON file of finished results (`key -> value`) that a rerun reuses, so an interrupted experiment
    continues where it stopped.

    Entries are reused only while the `settings` that define them and the `data` fingerprint they were
    computed on are unchanged. Other settings in the same file are refused (`other_settings="refuse"`,
    a ZooError naming the difference) or start the file afresh (`"recompute"`); other data always starts
    it afresh, with a line saying so. Every `put` rewrites the file atomically.

    Args:
      path: the JSON file.
      settings: JSON-able dict of what defines the results.
      data: fingerprint of the data they are computed on (`fingerprint(...)`, or a dataset's name).
      other_settings: "refuse" or "recompute".
      extra: more JSON-able entries written beside the results (e.g. the command).
    """

    def __init__(self, path, settings, data, other_settings="refuse", extra=None):
        if other_settings not in ("refuse", "recompute"):
            raise ValueError(f"other_settings must be 'refuse' or 'recompute'; received {other_settings!r}")
        self.path, self.settings, self.data = Path(path), _json_ready(settings), data
        self.extra = _json_ready(extra or {})
        self.results = {}
        if self.path.exists():
            saved = self._read()
            mismatch = settings_mismatch(saved["settings"], self.settings)
            if mismatch and other_settings == "refuse":
                raise ZooError(f"{self.path} holds results of other settings {mismatch}; rerun with the same "
                               "settings to reuse them, or choose another output directory")
            if not mismatch and saved["data"] != data:
                print(f"the data changed since {self.path} was written (fingerprint {saved['data']} there, "
                      f"{data} now): its results are recomputed", flush=True)
            elif not mismatch:
                self.results = saved["results"]

    def _read(self):
        try:
            saved = json.loads(self.path.read_text())
        except (OSError, ValueError) as error:
            raise ZooError(f"{self.path}: cannot be read as a results file ({error}); move it away to start afresh")
        if not (isinstance(saved, dict) and isinstance(saved.get("settings"), dict)
                and isinstance(saved.get("results"), dict) and "data" in saved):
            raise ZooError(f"{self.path}: not a results file of this zoo (it needs settings, data and results); "
                           "move it away to start afresh")
        return saved

    def __contains__(self, key):
        return key in self.results

    def __getitem__(self, key):
        return self.results[key]

    def put(self, key, value):
        """Records `value` under `key` and rewrites the file."""
        self.results[key] = _json_ready(value)
        atomic_write_text(self.path, json.dumps({**self.extra, "settings": self.settings, "data": self.data,
                                                 "results": self.results}, indent=1) + "\n")
