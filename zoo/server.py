"""The zoo's model server (`python -m zoo.serve` parses the flags, then calls `run`): SavedModels loaded once with
`tf.saved_model.load` and served over TensorFlow Serving's REST API, with the page of zoo/page/ at /.

Built on Starlette (FastAPI's own core; the request and response bodies are TF Serving's, checked here against each
signature, so FastAPI's pydantic layer would add nothing) under uvicorn.

Safe by default: model names, figure names and page files are looked up in what was loaded at start, never joined
into paths; request bodies have a size cap and predict requests a row cap; every bad request (malformed JSON, an
unknown model or signature, wrong input names, shapes or dtypes, values an endpoint refuses) gets a 4xx with
{"error": ...}, the endpoint's own message where the SavedModel's input checks refused it.
"""

import asyncio
import concurrent.futures
import dataclasses
import gc
import itertools
import json
import os
import re
from pathlib import Path

import numpy as np
import orjson
import tensorflow as tf
from google.protobuf import json_format
from sklearn.decomposition import PCA
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import FileResponse, Response
from starlette.routing import Route
from tensorflow.core.protobuf import saved_model_pb2

from zoo import data
from zoo.errors import DataError, ZooError

PAGE_DIR = Path(__file__).parent / "page"
PAGE_FILES = {"index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css"}
VERSION = "1"  # an artifact directory is one version of its model
LATENT_IMAGES = 2000  # test images whose codes give the latent explorer's principal directions
# The card metrics the gallery shows, in this order, where a card has them.
KEY_METRICS = ("test_nll_nats", "test_elbo_nats", "test_bce_nats", "test_squared_error", "test_accuracy",
               "frechet_distance", "test_rmse")


class RequestError(Exception):
    """A bad request: answered with `status` and {"error": message}."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def json_response(body, status=200):
    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), status, media_type="application/json")


def error_response(message, status):
    return json_response({"error": message}, status)


def bracketed(text):
    """The top-level [...] items of `text`, unwrapped: ["a [0, 1] b", "12"] from "[a [0, 1] b] [12]"."""
    items, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "[":
            depth += 1
            start = index + 1 if depth == 1 else start
        elif char == "]" and depth:
            depth -= 1
            if not depth:
                items.append(text[start:index].strip())
    return items


def endpoint_message(error):
    """The endpoint's own words from an InvalidArgumentError raised inside a SavedModel (its input checks), without
    TensorFlow's preamble ("Graph execution error:", the node it was detected at), node names and tensor dumps:
    "digits must be in 0..9; found 12" from tf.debugging.Assert's "assertion failed: [digits must be in 0..9;
    found] [12]", and the message alone from an assert_* op's "[message] [Condition x <= y did not hold...] ..."."""
    lines = [line for line in error.message.splitlines() if line.strip() and not line[0].isspace()
             and line != "Graph execution error:" and not line.startswith(("Detected at node", "<stack traces"))]
    text = next((line for line in lines if "assertion failed: " in line), lines[0] if lines else error.message)
    text = re.sub(r"^(\{\{function_node [^}]*\}\}\s*)+", "", text)
    text = re.sub(r"\s*\[Op:[^\]]*\]\s*$", "", text)
    if "assertion failed: " not in text:
        return text
    items = bracketed(text.partition("assertion failed: ")[2])
    return " ".join(itertools.takewhile(lambda item: not item.startswith("Condition "), items))


def shape_text(shape):
    return "[" + ", ".join("batch" if size is None else str(size) for size in shape) + "]"


@dataclasses.dataclass
class Signature:
    """One serving signature: its concrete function and its named input specs and output names."""

    function: object
    inputs: dict
    outputs: tuple

    @property
    def batched(self):
        """Whether every input has a leading batch dimension (then requests may be batched together)."""
        return all(spec.shape.rank and spec.shape[0] is None for spec in self.inputs.values())


@dataclasses.dataclass
class Servable:
    """One loaded artifact: its SavedModel's signatures, card, figures and (for encoders) latent directions."""

    name: str
    path: Path
    loaded: object
    signatures: dict
    signature_defs: dict
    card: dict
    figures: dict
    latent: dict = None

    def summary(self):
        card = self.card
        metrics = {name: entry["value"] for name, entry in card.get("metrics", {}).items()}
        return {
            "name": self.name,
            "model": card.get("model"),
            "description": card.get("description", ""),
            "command": card.get("command"),
            "signatures": {name: {input_name: shape_text(spec.shape.as_list()) for input_name, spec in sig.inputs.items()}
                           for name, sig in self.signatures.items()},
            "metrics": {name: metrics[name] for name in KEY_METRICS if name in metrics},
            "nll_importance_samples": metrics.get("nll_importance_samples"),
            "code_size": card.get("model_config", {}).get("latent_dim"),
            "parameters": card.get("parameters"),
            "anomaly": card.get("anomaly"),
            "figures": [f"/v1/models/{self.name}/figures/{figure}" for figure in sorted(self.figures)],
            "latent": self.latent is not None,
        }


def signature_defs(path):
    """{name: SignatureDef as TF Serving's metadata JSON writes it} from the SavedModel's saved_model.pb."""
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((path / "saved_model.pb").read_bytes())
    defs = saved.meta_graphs[0].signature_def
    return {name: json_format.MessageToDict(defs[name], preserving_proto_field_name=True)
            for name in sorted(defs) if not name.startswith("__")}


def warm_up(signature):
    """Calls a signature once on the smallest valid input (one row of zeros, a count of 1), so that the first
    request does not pay for the graph's first run."""
    args = {}
    for name, spec in signature.inputs.items():
        if spec.shape.rank:
            args[name] = tf.zeros([1 if size is None else size for size in spec.shape.as_list()], spec.dtype)
        else:
            args[name] = tf.constant(1 if name == "num" else 0, spec.dtype)
    signature.function(**args)


def load_servable(path):
    loaded = tf.saved_model.load(str(path))
    signatures = {}
    for name, function in loaded.signatures.items():
        _, specs = function.structured_input_signature
        signatures[name] = Signature(function, dict(specs), tuple(sorted(function.structured_outputs)))
        warm_up(signatures[name])
    card_path = path / "card.json"
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    figures = {figure.name: figure for figure in sorted(path.glob("*.png"))}
    return Servable(path.name, path, loaded, signatures, signature_defs(path), card, figures)


def latent_directions(servable, images):
    """The mean code and the two leading principal directions of the codes of `images` (scikit-learn's PCA), with
    the codes' standard deviation along each, for the page's latent sliders; None for models without an
    images-only encode and a code-only decode."""
    encode, decode = servable.signatures.get("encode"), servable.signatures.get("decode")
    if not (encode and decode and list(encode.inputs) == ["images"] and list(decode.inputs) == ["code"]):
        return None
    codes = encode.function(images=tf.constant(images))["code"].numpy()
    if codes.shape[1] < 2:
        return None
    pca = PCA(n_components=2).fit(codes)
    return {"mean": pca.mean_.tolist(), "directions": pca.components_.tolist(),
            "scales": np.sqrt(pca.explained_variance_).tolist(),
            "images": len(images), "code_size": codes.shape[1]}


def load_all(models_dir, data_dir=None, log=print):
    """{name: Servable} for every subdirectory of `models_dir` holding a saved_model.pb, with latent directions where
    MNIST's test images can be read (`data_dir`, else $ZOO_DATA_DIR; tensorflow-datasets is not asked)."""
    paths = sorted(path.parent for path in Path(models_dir).glob("*/saved_model.pb"))
    if not paths:
        raise ZooError(f"no SavedModel found in the subdirectories of {models_dir}")
    servables = {}
    for path in paths:
        servables[path.name] = load_servable(path)
        log(f"loaded {path.name}: {', '.join(sorted(servables[path.name].signatures))}")
    test_images = None
    try:
        if data_dir or os.environ.get(data.DATA_DIR_ENV):
            test_images = data.mnist_grayscale(data_dir)["test"][0][:LATENT_IMAGES]
    except DataError as error:
        log(f"latent explorer off: {error}")
    if test_images is None:
        log("latent explorer off: no MNIST directory (--data-dir or $ZOO_DATA_DIR)")
    else:
        for servable in servables.values():
            servable.latent = latent_directions(servable, test_images)
    return servables


# Predict: TF Serving's request and response formats.

def to_array(value, spec, what, max_rows):
    """`value` (nested JSON lists or a number) as a numpy array of the spec's dtype and shape, or a RequestError
    naming the input, what it received and what is allowed."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:
        raise RequestError(f"{what} must be a (nested) list of numbers of shape {shape_text(spec.shape)}; "
                           f"could not read it as one ({str(error).splitlines()[0][:120]})") from None
    if array.dtype.kind not in "biuf":
        raise RequestError(f"{what} must hold numbers (dtype {spec.dtype.name}); received values of type "
                           f"{'strings' if array.dtype.kind in 'US' else array.dtype.name}")
    if spec.dtype.is_integer:
        finite = np.isfinite(array) if array.dtype.kind == "f" else np.ones(array.shape, bool)
        if not np.all(finite) or np.any(array != np.round(np.where(finite, array, 0))):
            raise RequestError(f"{what} must hold whole numbers (dtype {spec.dtype.name})")
        info = np.iinfo(spec.dtype.as_numpy_dtype)
        if array.size and (array.min() < info.min or array.max() > info.max):
            raise RequestError(f"{what} must be within {spec.dtype.name}'s range {info.min}..{info.max}")
    if not tf.TensorShape(array.shape).is_compatible_with(spec.shape):
        raise RequestError(f"{what} must have shape {shape_text(spec.shape)}; received {list(array.shape)}")
    if array.ndim and array.shape[0] > max_rows:
        raise RequestError(f"{what} holds {array.shape[0]} rows; at most {max_rows} are accepted per request "
                           "(split the batch)", status=413)
    with np.errstate(over="ignore", invalid="ignore"):
        return array.astype(spec.dtype.as_numpy_dtype)


def row_inputs(instances, signature, max_rows):
    """The inputs of a row-format request ({"instances": [...]}): one value per row for a single input, else one
    object per row holding every named input."""
    if not isinstance(instances, list):
        raise RequestError("'instances' must be a list with one entry per row")
    scalars = [name for name, spec in signature.inputs.items() if not spec.shape.rank]
    if scalars:
        raise RequestError(f"this signature takes the scalar input(s) {scalars}, which have no rows: use the columnar "
                           'format, {"inputs": {...}}')
    names = list(signature.inputs)
    if len(names) == 1 and not (instances and isinstance(instances[0], dict)):
        return {names[0]: to_array(instances, signature.inputs[names[0]], "instances", max_rows)}
    if not all(isinstance(row, dict) for row in instances):
        raise RequestError(f"this signature takes several named inputs {names}: each instance must be an object "
                           "holding all of them")
    for index, row in enumerate(instances):
        if set(row) != set(names):
            raise RequestError(f"instance {index} has the inputs {sorted(row)}; the signature takes {sorted(names)}")
    return {name: to_array([row[name] for row in instances], spec, f"input '{name}'", max_rows)
            for name, spec in signature.inputs.items()}


def columnar_inputs(inputs, signature, max_rows):
    """The inputs of a columnar request ({"inputs": ...}): the single input's value, or an object of named inputs."""
    names = list(signature.inputs)
    if not isinstance(inputs, dict):
        if len(names) != 1:
            raise RequestError(f"this signature takes several named inputs {names}: 'inputs' must be an object")
        inputs = {names[0]: inputs}
    if set(inputs) != set(names):
        raise RequestError(f"'inputs' has {sorted(inputs)}; the signature takes {sorted(names)}")
    return {name: to_array(inputs[name], spec, f"input '{name}'", max_rows) for name, spec in signature.inputs.items()}


def parse_predict(body, servable, max_rows):
    """(signature name, Signature, input arrays, row format?) of a predict request body."""
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
    if not isinstance(name, str) or name not in servable.signatures:
        raise RequestError(f'Serving signature name: "{name}" not found in signature def; '
                           f"{servable.name} has {sorted(servable.signatures)}")
    signature = servable.signatures[name]
    if ("instances" in request) == ("inputs" in request):
        raise RequestError("a predict request takes either 'instances' (row format) or 'inputs' (columnar), "
                           "one of them" + (", not both" if "inputs" in request else ""))
    if "instances" in request:
        return name, signature, row_inputs(request["instances"], signature, max_rows), True
    return name, signature, columnar_inputs(request["inputs"], signature, max_rows), False


def call_signature(signature, inputs):
    """{output name: numpy array} of the signature on the inputs; RequestError with the endpoint's message if its
    input checks refuse them."""
    try:
        outputs = signature.function(**{name: tf.constant(value) for name, value in inputs.items()})
    except tf.errors.InvalidArgumentError as error:
        raise RequestError(endpoint_message(error)) from None
    return {name: outputs[name].numpy() for name in signature.outputs}


def predict_body(outputs, row_format):
    """TF Serving's response: {"predictions": ...} for a row-format request, {"outputs": ...} for a columnar one; the
    output's value alone when there is one, else every named output (per row, in the row format)."""
    if not row_format:
        return {"outputs": next(iter(outputs.values())) if len(outputs) == 1 else outputs}
    if len(outputs) == 1:
        return {"predictions": next(iter(outputs.values()))}
    rows = {len(value) if np.ndim(value) else None for value in outputs.values()}
    if len(rows) != 1 or None in rows:
        raise RequestError("the outputs of this signature do not share a batch dimension: use the columnar format")
    return {"predictions": [{name: value[row] for name, value in outputs.items()} for row in range(rows.pop())]}


class Batcher:
    """Runs a signature's requests on the server's TensorFlow thread pool, one call at a time per signature; requests
    that queue up while a call runs go together into the next call (their rows concatenated, the outputs split
    back), so that concurrent clients share one larger matmul. A batch whose call fails is retried request by
    request, so that each request gets its own answer. The queue and its worker belong to the event loop serving
    the request: another loop (a test client's, a restarted server's) gets its own."""

    def __init__(self, signature, executor, max_rows):
        self.signature, self.executor, self.max_rows = signature, executor, max_rows
        self.loop = self.queue = self.worker = None

    async def __call__(self, inputs):
        loop = asyncio.get_running_loop()
        if self.loop is not loop or self.worker.done():
            self.loop, self.queue = loop, asyncio.Queue()
            self.worker = loop.create_task(self.work(self.queue))
        future = loop.create_future()
        await self.queue.put((inputs, future))
        return await future

    @staticmethod
    def rows(inputs):
        counts = {len(value) for value in inputs.values()}
        return counts.pop() if len(counts) == 1 else None

    async def work(self, queue):
        loop = asyncio.get_running_loop()
        held = None  # a request taken from the queue that did not fit the last batch: it starts the next
        while True:
            batch, held = [held or await queue.get()], None
            rows = self.rows(batch[0][0])
            while rows is not None and not queue.empty():
                request = queue.get_nowait()
                more = self.rows(request[0])
                if more is None or rows + more > self.max_rows:
                    held = request
                    break
                batch.append(request)
                rows += more
            await loop.run_in_executor(self.executor, self.run, batch)

    def run(self, batch):
        if len(batch) > 1:
            joined = {name: np.concatenate([inputs[name] for inputs, _ in batch]) for name in self.signature.inputs}
            try:
                outputs = call_signature(self.signature, joined)
            except RequestError:
                outputs = None  # some request in the batch is bad: answer each alone
            if outputs is not None:
                start = 0
                for inputs, future in batch:
                    stop = start + self.rows(inputs)
                    result = {name: value[start:stop] for name, value in outputs.items()}
                    future.get_loop().call_soon_threadsafe(future.set_result, result)
                    start = stop
                return
        for inputs, future in batch:
            try:
                result = call_signature(self.signature, inputs)
            except Exception as error:  # handed to the request that caused it
                future.get_loop().call_soon_threadsafe(future.set_exception, error)
            else:
                future.get_loop().call_soon_threadsafe(future.set_result, result)


class BodyLimit:
    """ASGI middleware: a request body over `max_bytes` (by its Content-Length, or as it streams in) gets a 413."""

    def __init__(self, app, max_bytes):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        message = f"the request body is over the server's limit of {self.max_bytes // 2**20} MB (--max-body-mb)"
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await error_response(message, 413)(scope, receive, send)
        received = 0

        async def limited_receive():
            nonlocal received
            event = await receive()
            received += len(event.get("body", b""))
            if received > self.max_bytes:
                raise RequestError(message, status=413)
            return event

        return await self.app(scope, limited_receive, send)


def create_app(servables, max_body_bytes=16 * 2**20, max_rows=1024, batching=True, threads=None):
    """The Starlette app serving `servables` ({name: Servable})."""
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=threads or 8, thread_name_prefix="tf")
    batchers = {(name, sig_name): Batcher(sig, executor, max_rows)
                for name, servable in servables.items() for sig_name, sig in servable.signatures.items()}

    def servable_of(request):
        name, version = request.path_params["name"], request.path_params.get("version")
        if name not in servables:
            raise RequestError(f"Servable not found for request: Latest({name})", status=404)
        if version is not None and version != VERSION:
            raise RequestError(f"Servable not found for request: Specific({name}, {version})", status=404)
        return servables[name]

    async def status(request):
        servable_of(request)
        return json_response({"model_version_status": [
            {"version": VERSION, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]})

    async def metadata(request):
        servable = servable_of(request)
        return json_response({"model_spec": {"name": servable.name, "signature_name": "", "version": VERSION},
                              "metadata": {"signature_def": {"signature_def": servable.signature_defs}}})

    async def predict(request):
        servable = servable_of(request)
        body = await request.body()
        name, signature, inputs, row_format = parse_predict(body, servable, max_rows)
        if batching and signature.batched:
            outputs = await batchers[(servable.name, name)](inputs)
        else:
            outputs = await asyncio.get_running_loop().run_in_executor(executor, call_signature, signature, inputs)
        return json_response(predict_body(outputs, row_format))

    async def other_method(request):
        name, method = request.path_params["name"], request.path_params["method"]
        raise RequestError(f"this server answers :predict only (POST /v1/models/{name}:predict), not :{method}")

    async def list_models(request):
        return json_response({"models": [servable.summary() for servable in servables.values()]})

    async def figure(request):
        servable = servable_of(request)
        path = servable.figures.get(request.path_params["file"])
        if path is None:
            raise RequestError(f"{servable.name} has no figure {request.path_params['file']!r}; it has "
                               f"{sorted(servable.figures)}", status=404)
        return FileResponse(path, media_type="image/png")

    async def latent(request):
        servable = servable_of(request)
        if servable.latent is None:
            raise RequestError(f"{servable.name} has no latent directions (no images-only encoder, or the server "
                               "was started without MNIST: --data-dir)", status=404)
        return json_response(servable.latent)

    async def page(request):
        file = request.path_params.get("file", "index.html")
        if file not in PAGE_FILES:
            raise RequestError(f"no such page file: {file!r}", status=404)
        return FileResponse(PAGE_DIR / file, media_type=PAGE_FILES[file])

    async def request_error(request, error):
        return error_response(str(error), error.status)

    async def http_error(request, error):
        return error_response(error.detail or "error", error.status_code)

    async def client_gone(request, error):
        return Response(status_code=400)  # never sent: nobody is left to read it

    async def server_error(request, error):
        first_line = str(error).partition("\n")[0]
        return error_response(f"internal error: {type(error).__name__}: {first_line[:300]}", 500)

    routes = [
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{name}:predict", predict, methods=["POST"]),
        Route("/v1/models/{name}/versions/{version}:predict", predict, methods=["POST"]),
        Route("/v1/models/{name}:{method}", other_method, methods=["POST"]),
        Route("/v1/models/{name}/versions/{version}:{method}", other_method, methods=["POST"]),
        Route("/v1/models/{name}/metadata", metadata, methods=["GET"]),
        Route("/v1/models/{name}/versions/{version}/metadata", metadata, methods=["GET"]),
        Route("/v1/models/{name}/figures/{file}", figure, methods=["GET"]),
        Route("/v1/models/{name}/latent", latent, methods=["GET"]),
        Route("/v1/models/{name}/versions/{version}", status, methods=["GET"]),
        Route("/v1/models/{name}", status, methods=["GET"]),
        Route("/", page, methods=["GET"]),
        Route("/static/{file}", page, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={RequestError: request_error, HTTPException: http_error,
                                                       ClientDisconnect: client_gone, Exception: server_error})
    return BodyLimit(app, max_body_bytes)


def run(settings):
    """Loads every artifact under settings.models and serves them until interrupted."""
    import uvicorn

    servables = load_all(settings.models, settings.data_dir)
    # A JSON request of 64 images parses into 50k small lists, which set off a full garbage collection every other
    # request, each slowed by TensorFlow's many long-lived objects (~160 ms added, measured): frozen, collections
    # skip those objects.
    gc.freeze()
    app = create_app(servables, settings.max_body_mb * 2**20, settings.max_batch, settings.batching)
    print(f"serving {len(servables)} models on http://{settings.host}:{settings.port}/ "
          f"(TensorFlow Serving REST API under /v1/models)", flush=True)
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    except OSError as error:  # e.g. the port is taken
        raise ZooError(f"cannot serve on {settings.host}:{settings.port}: {error}") from None

