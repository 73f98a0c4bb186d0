"""SavedModel export: the endpoints a model declares (zoo.signatures lists the contract), plus model.keras,
card.json and figures, written atomically. Export assembles and validates what the model builds and writes
what it is given; it computes nothing and loads no data (zoo.pipeline does that)."""

import json
import os
import shutil
from pathlib import Path

import keras
import tensorflow as tf

from zoo.errors import DiskFull
from zoo.files import claim_export_dir, is_disk_full, process_alive
from zoo.signatures import ENDPOINT_NAMES, contract_checked


def checked_endpoints(model):
    """The model's `endpoints()`, once they match what its class declares (ENDPOINTS, serving_endpoint) and
    follow the contract (known names, named TensorSpec inputs); a ValueError naming the fault otherwise."""
    declared, built = tuple(model.ENDPOINTS), model.endpoints()
    name = type(model).__name__
    if set(built) != set(declared):
        raise ValueError(f"{name} declares the endpoints {sorted(declared)} but builds {sorted(built)}")
    unknown = sorted(set(declared) - set(ENDPOINT_NAMES))
    if unknown:
        raise ValueError(f"{name} declares endpoints outside the contract: {unknown}; known: {list(ENDPOINT_NAMES)}")
    if model.serving_endpoint not in built:
        raise ValueError(f"{name}.serving_endpoint is {model.serving_endpoint!r}, not one of its endpoints {sorted(built)}")
    for endpoint_name, endpoint in built.items():
        names = [spec.name for spec in endpoint.inputs if isinstance(spec, tf.TensorSpec)]
        if len(names) != len(endpoint.inputs) or not all(names) or len(set(names)) != len(names):
            raise ValueError(f"{name}'s {endpoint_name} endpoint needs distinct, named tf.TensorSpec inputs; "
                             f"received {endpoint.inputs}")
    return built


def build_archive(model):
    """An ExportArchive holding the model's endpoints, and its serving endpoint also as serving_default."""
    # Endpoints track the variables they use; archive.track(model) would store every weight a second time.
    archive = keras.export.ExportArchive()
    endpoints = checked_endpoints(model)
    for name, endpoint in endpoints.items():
        archive.add_endpoint(name, contract_checked(endpoint.function, endpoint.inputs), list(endpoint.inputs))
    serving = endpoints[model.serving_endpoint]
    archive.add_endpoint("serving_default", contract_checked(serving.function, serving.inputs), list(serving.inputs))
    return archive


def float32_copy(model):
    """A fresh float32 copy of `model` with its weights and no optimizer state (a third of the bytes)."""
    copy = type(model).from_config({**model.get_config(), "dtype": "float32"})
    copy.set_weights(model.get_weights())
    return copy


def remove_stale_staging(export_dir):
    """Removes what interrupted exports to `export_dir` left behind (.<name>.tmp-<pid>, .<name>.old-<pid>) whose
    process is gone."""
    for leftover in Path(export_dir).parent.glob(f".{Path(export_dir).name}.*-*"):
        kind, _, pid = leftover.name.rpartition("-")
        if not (kind.endswith((".tmp", ".old")) and pid.isascii() and pid.isdigit()) or int(pid) == os.getpid():
            continue
        if not leftover.is_symlink() and leftover.is_dir() and not process_alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def export(model, export_dir, model_card, figures=(), keep_clear_of=()):
    """Writes the SavedModel, model.keras, card.json and figures to `export_dir`, replacing it atomically.

    `export_dir` must be new, empty or an artifact the zoo exported, and not be or hold any directory of
    `keep_clear_of` (zoo.files.export_dir_problem): a ZooError otherwise, and nothing is written. Everything is written
    into a temporary sibling directory first, so an interrupted export leaves any previous artifact untouched.
    """
    export_dir = claim_export_dir(export_dir, keep_clear_of)
    export_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(export_dir)
    staging = export_dir.parent / f".{export_dir.name}.tmp-{os.getpid()}"
    retired = export_dir.parent / f".{export_dir.name}.old-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    kept = (f"the previous artifact at {export_dir} is untouched" if export_dir.exists()
            else f"nothing was written to {export_dir}")
    try:
        model = float32_copy(model)
        build_archive(model).write_out(str(staging), verbose=False)
        model.save(staging / "model.keras")
        (staging / "card.json").write_text(json.dumps(model_card, indent=1, default=str) + "\n")
        for figure in figures:
            shutil.copy(figure, staging / Path(figure).name)
        if export_dir.exists():
            os.rename(export_dir, retired)
        try:
            os.rename(staging, export_dir)
        except OSError:
            if retired.exists():
                os.rename(retired, export_dir)
            raise
    except Exception as error:  # TensorFlow reports a full disk as ResourceExhaustedError, h5py as OSError
        if is_disk_full(error):
            raise DiskFull(f"the disk is full: exporting to {export_dir} failed; {kept}") from None
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(retired, ignore_errors=True)
    return export_dir
