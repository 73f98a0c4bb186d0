"""Measurements too slow for CI. Each writes what it saw as JSON under benchmarks/results/ (`write_results`)."""

import json
from pathlib import Path


def write_results(path, results):
    """Writes `results` as indented JSON to `path`, creating its directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
