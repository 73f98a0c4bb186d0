"""Measurements too slow for CI. Each writes what it saw as JSON under benchmarks/results/ (`write_results`)."""

import json
import shlex
import subprocess
from pathlib import Path

from zoo.errors import ZooError
from zoo.files import atomic_write_text


def write_results(path, results):
    """Writes `results` as indented JSON to `path` (atomically), creating its directory."""
    path = Path(path)
    if path.is_dir():
        raise ZooError(f"cannot write the results to {path}: it is a directory; give a file name (e.g. {path}/results.json)")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(results, indent=1) + "\n")


def data_dir_flag(data_dir):
    """The --data-dir a benchmark passes on to a recipe it runs in another process: the directory made absolute, or
    nothing, so that the recipe falls back to $ZOO_DATA_DIR or tensorflow-datasets as it would on its own."""
    return ["--data-dir", str(Path(data_dir).resolve())] if data_dir else []


def run_checked(args, cwd=None):
    """Runs `args` (a recipe a benchmark times) with its output discarded; a failure is a ZooError with the last line
    the command wrote to stderr, not a traceback."""
    finished = subprocess.run(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if finished.returncode:
        last = (finished.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
        raise ZooError(f"python {shlex.join(map(str, args[1:]))}{f' (in {cwd})' if cwd else ''} exited with status "
                       f"{finished.returncode}: {last}")
