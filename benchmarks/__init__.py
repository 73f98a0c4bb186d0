"""Measurements too slow for CI. Each writes what it saw as JSON under benchmarks/results/ (`write_results`)."""

import json
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
