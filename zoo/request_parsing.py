"""Predict request bodies (TensorFlow Serving's JSON) parsed into numpy arrays and checked against a signature's
input specs. Imports only numpy and orjson, not TensorFlow: the server (zoo.wire_format.Parser) parses large bodies in
a worker process running this module, so that seconds of JSON parsing hold up neither its event loop nor its GIL."""

import json
import os
import signal
import threading
import time
from typing import NamedTuple

import numpy as np
import orjson


class RequestError(Exception):
    """A bad request: answered with `status` and {"error": message}."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status

    def __reduce__(self):  # pickled with its status, out of the parser process
        return type(self), (str(self), self.status)


class InputSpec(NamedTuple):
    """A signature input's shape (None for a dimension of any size) and numpy dtype name: plain values that pickle."""

    shape: tuple
    dtype: str


def shape_text(shape, batched=True):
    """`shape` as the server says it: "[batch, 8, 8, 1]", "[batch, any, any, 3]" (a leading None is the batch when
    `batched`, another None a side of any size)."""
    return "[" + ", ".join(str(size) if size is not None else "batch" if batched and not index else "any"
                           for index, size in enumerate(shape)) + "]"


def expected_shape(shape):
    """The shape a signature input takes, as its errors say it: "[batch, 8, 8, 1], one [8, 8, 1] per instance"."""
    per_instance = (f", one {shape_text(shape[1:], batched=False)} per instance" if len(shape) > 1 and shape[0] is None
                    else "")
    return shape_text(shape) + per_instance


def to_array(value, spec, what, max_rows):
    """`value` (nested JSON lists or a number) as a numpy array of the spec's dtype and shape, or a RequestError
    naming the input, what it received and what is allowed."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:
        raise RequestError(f"{what} must be a (nested) list of numbers of shape {expected_shape(spec.shape)}; "
                           f"could not read it as one ({str(error).splitlines()[0][:120]})") from None
    if array.dtype.kind not in "biuf":
        raise RequestError(f"{what} must hold numbers (dtype {spec.dtype}); received values of type "
                           f"{'strings' if array.dtype.kind in 'US' else array.dtype.name}")
    dtype = np.dtype(spec.dtype)
    if np.issubdtype(dtype, np.integer):
        finite = np.isfinite(array) if array.dtype.kind == "f" else np.ones(array.shape, bool)
        if not np.all(finite) or np.any(array != np.round(np.where(finite, array, 0))):
            raise RequestError(f"{what} must hold whole numbers (dtype {spec.dtype})")
        info = np.iinfo(dtype)
        if array.size and (array.min() < info.min or array.max() > info.max):
            raise RequestError(f"{what} must be within {spec.dtype}'s range {info.min}..{info.max}")
    if array.ndim != len(spec.shape) or any(size not in (None, got) for got, size in zip(array.shape, spec.shape)):
        raise RequestError(f"{what} must have shape {expected_shape(spec.shape)}; received {list(array.shape)}")
    if array.ndim and array.shape[0] > max_rows:
        raise RequestError(f"{what} holds {array.shape[0]} rows; at most {max_rows} are accepted per request "
                           "(split the batch)", status=413)
    with np.errstate(over="ignore", invalid="ignore"):
        return array.astype(dtype)


def row_inputs(instances, specs, max_rows):
    """The inputs of a row-format request ({"instances": [...]}): one value per row for a single input, else one
    object per row holding every named input."""
    if not isinstance(instances, list):
        raise RequestError("'instances' must be a list with one entry per row")
    scalars = [name for name, spec in specs.items() if not spec.shape]
    if scalars:
        raise RequestError(f"this signature takes the scalar input(s) {scalars}, which have no rows: use the columnar "
                           'format, {"inputs": {...}}')
    names = list(specs)
    if len(names) == 1 and not (instances and isinstance(instances[0], dict)):
        return {names[0]: to_array(instances, specs[names[0]], f"input '{names[0]}' (the instances)", max_rows)}
    if not all(isinstance(row, dict) for row in instances):
        raise RequestError(f"this signature takes several named inputs {names}: each instance must be an object "
                           "holding all of them")
    for index, row in enumerate(instances):
        if set(row) != set(names):
            raise RequestError(f"instance {index} has the inputs {sorted(row)}; the signature takes {sorted(names)}")
    return {name: to_array([row[name] for row in instances], spec, f"input '{name}'", max_rows)
            for name, spec in specs.items()}


def columnar_inputs(inputs, specs, max_rows):
    """The inputs of a columnar request ({"inputs": ...}): the single input's value, or an object of named inputs."""
    names = list(specs)
    if not isinstance(inputs, dict):
        if len(names) != 1:
            raise RequestError(f"this signature takes several named inputs {names}: 'inputs' must be an object")
        inputs = {names[0]: inputs}
    if set(inputs) != set(names):
        raise RequestError(f"'inputs' has {sorted(inputs)}; the signature takes {sorted(names)}")
    return {name: to_array(inputs[name], spec, f"input '{name}'", max_rows) for name, spec in specs.items()}


def parse_predict(body, model, signatures, max_rows):
    """(signature name, {input name: array}, row format?) of a predict request body for `model`, whose
    `signatures` are {signature name: {input name: InputSpec}}."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:  # TF Serving also reads NaN and Infinity, which orjson (2x faster here) refuses
            request = json.loads(body)
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
            raise RequestError(f"malformed JSON: {error}") from None
    if not isinstance(request, dict):
        raise RequestError("the request body must be a JSON object")
    name = request.get("signature_name", "serving_default") or "serving_default"
    if not isinstance(name, str) or name not in signatures:
        raise RequestError(f'Serving signature name: "{name}" not found in signature def; '
                           f"{model} has {sorted(signatures)}")
    if ("instances" in request) == ("inputs" in request):
        raise RequestError("a predict request takes either 'instances' (row format) or 'inputs' (columnar), "
                           "one of them" + (", not both" if "inputs" in request else ""))
    if "instances" in request:
        return name, row_inputs(request["instances"], signatures[name], max_rows), True
    return name, columnar_inputs(request["inputs"], signatures[name], max_rows), False


def parser_process_started(poll_s=1.0):
    """The parser process's initializer: Ctrl-C stops the server, which then stops this process; and should the server
    end without stopping it (killed by SIGKILL), the process ends by itself within `poll_s` instead of living on."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server = os.getppid()

    def end_with_the_server():
        while os.getppid() == server:
            time.sleep(poll_s)
        os._exit(0)

    threading.Thread(target=end_with_the_server, daemon=True).start()
