"""The zoo's expected failures, which command lines report in one line (layer 1: no TensorFlow)."""


class ZooError(Exception):
    """An expected failure (bad data, a diverged run, a run dir of other settings) that a command line
    reports in one line."""


class DataError(ZooError, ValueError):
    """The data could not be found or read; the message names the file or directory and what to do."""


class TrainingDiverged(ZooError):
    """A loss went non-finite or the model reported a failure (e.g. a GAN's collapse); the last good
    checkpoint was kept."""


class DiskFull(ZooError):
    """A write failed because the disk (or a quota, or a file-size limit) is full; the message says what was being
    written and what was kept intact."""


def in_one_line(error, most=200):
    """"TypeName: the first line of its message" of an unexpected exception, cut to `most` characters, for a
    ZooError that names it."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:most] if lines else ''}"
