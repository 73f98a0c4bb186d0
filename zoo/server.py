"""The zoo's model server (`python -m zoo.serve` parses the flags, then calls `run`): SavedModels loaded once with
`tf.saved_model.load` and served over TensorFlow Serving's REST API, with the page of zoo/page/ at /.

Built on Starlette (FastAPI's own core; the request and response bodies are TF Serving's, checked here against each
signature, so FastAPI's pydantic layer would add nothing) under uvicorn.

Safe by default: model names, figure names and page files are looked up in what was loaded at start, never joined
into paths; request bodies have a size cap and predict requests a row cap; every bad request (malformed JSON, an
unknown model, signature or method, wrong input names, shapes or dtypes, values an endpoint refuses) gets a 4xx
with {"error": ...}, the endpoint's own message where the SavedModel's input checks refused it. Bodies are parsed
off the event loop (Parser: large ones in a worker process), browser pages of other origins and, on loopback,
requests for other host names are refused (SameOrigin), and slow, idle or non-reading connections are timed out
(BodyLimits, TimedH11).
"""

import asyncio
import concurrent.futures
import dataclasses
import functools
import gc
import itertools
import multiprocessing
import os
import re
import urllib.parse
from pathlib import Path
from urllib.parse import quote

import h11
import numpy as np
import orjson
import tensorflow as tf
from google.protobuf import json_format
from sklearn.decomposition import PCA
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect
from starlette.responses import FileResponse, Response
from starlette.routing import Route
from tensorflow.core.protobuf import saved_model_pb2
from uvicorn.protocols.http.h11_impl import H11Protocol

import zoo
from zoo import data, request_parsing
from zoo.cluster import is_loopback
from zoo.errors import DataError, ZooError
from zoo.request_parsing import InputSpec, RequestError, parse_predict, shape_text

PAGE_DIR = Path(__file__).parent / "page"
PAGE_FILES = {"index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css"}
VERSION = "1"  # an artifact directory is one version of its model
# How long a stopped server waits for its open requests (a slow client's) before it closes them and cleans up.
GRACEFUL_SHUTDOWN_S = 5
LATENT_IMAGES = 2000  # test images whose codes give the latent explorer's principal directions
# The card metrics the gallery shows, in this order, where a card has them.
KEY_METRICS = ("test_nll_nats", "test_elbo_nats", "test_bce_nats", "test_squared_error", "test_accuracy",
               "frechet_distance", "test_rmse")


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

    @functools.cached_property
    def specs(self):
        """{input name: InputSpec}: the inputs' shapes and dtypes as request_parsing takes them."""
        return {name: InputSpec(tuple(spec.shape.as_list()), spec.dtype.name) for name, spec in self.inputs.items()}


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

    def code_size(self):
        """Units of the code its decode (or generate) signature takes, or None."""
        for name in ("decode", "generate"):
            code = self.signatures[name].inputs.get("code") if name in self.signatures else None
            if code is not None:
                return code.shape[1]
        return None

    @property
    def specs(self):
        """{signature name: {input name: InputSpec}}, for request_parsing."""
        return {name: signature.specs for name, signature in self.signatures.items()}

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
            "code_size": self.code_size(),
            "code": card.get("code", {}).get("what"),
            "parameters": card.get("parameters"),
            "anomaly": card.get("anomaly"),
            "figures": [f"/v1/models/{quote(self.name, safe='')}/figures/{quote(figure, safe='')}"
                        for figure in sorted(self.figures)],
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
    loaded = zoo.load_saved_model(path)
    signatures = {}
    for name, function in loaded.signatures.items():
        _, specs = function.structured_input_signature
        signatures[name] = Signature(function, dict(specs), tuple(sorted(function.structured_outputs)))
        warm_up(signatures[name])
    card = zoo.card(path) if (path / "card.json").exists() else {}  # a SavedModel from elsewhere may have none
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


# Predict: TF Serving's request and response formats (request_parsing reads the requests).

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


class Parser:
    """Parses predict request bodies off the event loop: a small one (under `inline_bytes`) in a thread, a larger
    one in a worker process. JSON parsing and the conversion of nested lists to arrays are C calls that hold the GIL
    throughout (seconds for a 16 MB body), so that in a thread they would stall the event loop all the same. The
    process is spawned, not forked (it imports numpy and orjson, never TensorFlow); `warm_up` starts it and waits
    until it has parsed a first body (else the first large body starts it). A process that dies (out of memory)
    fails the requests it held with a 503 and is replaced on the next large body."""

    def __init__(self, inline_bytes=2**20):
        self.inline_bytes, self.pool = inline_bytes, None

    def start(self):
        self.pool = concurrent.futures.ProcessPoolExecutor(1, multiprocessing.get_context("spawn"),
                                                           initializer=request_parsing.parser_process_started)
        return self.pool

    def warm_up(self):
        spec = {"serving_default": {"x": InputSpec((None,), "float32")}}
        (self.pool or self.start()).submit(parse_predict, b'{"inputs": [1.0]}', "warm-up", spec, 1).result()

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    async def __call__(self, body, servable, max_rows):
        """(signature name, {input name: array}, row format?) of the body, or a RequestError."""
        args = (parse_predict, body, servable.name, servable.specs, max_rows)
        loop = asyncio.get_running_loop()
        if len(body) < self.inline_bytes:
            return await loop.run_in_executor(None, *args)
        pool = self.pool or self.start()
        try:
            return await loop.run_in_executor(pool, *args)
        except concurrent.futures.process.BrokenProcessPool:
            if self.pool is pool:
                self.pool = None
            raise RequestError("the server's parser process died on this body (out of memory?)", status=503) from None


class BodyLimits:
    """ASGI middleware: a request body over `max_bytes` (by its Content-Length, or as it streams in) gets a 413, and
    one not complete `timeout_s` after the request's headers a 408. An answer given before the body is all in (these,
    a refusal, an unknown model) closes the connection: it could carry no further request, and uvicorn would
    otherwise read the rest of the body, at the client's pace, with no timeout."""

    def __init__(self, app, max_bytes, timeout_s):
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_large = f"the request body is over the server's limit of {self.max_bytes // 2**20} MB (--max-body-mb)"
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        received, complete = 0, length in (None, b"0") and b"transfer-encoding" not in headers

        async def closing_send(message):
            if message["type"] == "http.response.start" and not complete:
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        async def limited_receive():
            nonlocal received, complete
            if complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    event = await receive()
            except TimeoutError:
                raise RequestError(f"the request body did not arrive within {self.timeout_s:g} s (--body-timeout-s)",
                                   status=408) from None
            received += len(event.get("body", b""))
            complete = not event.get("more_body", False)
            if received > self.max_bytes:
                raise RequestError(too_large, status=413)
            return event

        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await error_response(too_large, 413)(scope, receive, closing_send)
        return await self.app(scope, limited_receive, closing_send)


class SameOrigin:
    """ASGI middleware against cross-site requests: a request carrying an Origin header (as a browser sends it from
    a page) that is neither the server's own origin (http://<its Host header>) nor one of `allowed_origins` gets a
    403, `Origin: null` too; requests without one (TF Serving clients, curl) pass. With `loopback_only` (a server
    bound to loopback), a Host header that does not name this machine gets a 403 as well: a page whose domain
    resolves to 127.0.0.1 (DNS rebinding) would otherwise be the server's own origin."""

    def __init__(self, app, allowed_origins=(), loopback_only=False):
        self.app, self.allowed_origins, self.loopback_only = app, set(allowed_origins), loopback_only

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {name: value.decode("latin-1") for name, value in scope["headers"]}
        host, origin = headers.get(b"host", ""), headers.get(b"origin")
        own = f"{scope['scheme']}://{host}"
        if self.loopback_only and not is_loopback(host_name(host)):
            refusal = (f"a request for host {host!r} refused: a server bound to loopback answers requests for "
                       "localhost, 127.0.0.1 or [::1] only")
        elif origin is not None and origin not in {own, *self.allowed_origins}:
            refusal = (f"a request from a page of origin {origin!r} refused: the server answers pages of its own "
                       f"origin ({own}) and of the origins given to --allow-origin "
                       f"({', '.join(sorted(self.allowed_origins)) or 'none'})")
        else:
            return await self.app(scope, receive, send)
        return await error_response(refusal, 403)(scope, receive, send)


def host_name(host):
    """The name or address of a Host header ("::1" from "[::1]:8501"); "" if it is malformed."""
    try:
        return urllib.parse.urlsplit(f"//{host}").hostname or ""
    except ValueError:
        return ""


class TimedH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol (h11) with the two timeouts it lacks. It closes a connection whose request line
    and headers are not complete `header_timeout_s` after it opened, or after the first byte of its next request.
    And it drops one whose client reads nothing of its answer for a keep-alive period (a slow reader must keep
    reading): uvicorn would keep the connection, the unsent answer and any answer queued behind it for as long as
    the client does not read. (BodyLimits bounds the request body.)"""

    def __init__(self, *args, header_timeout_s, **kwargs):
        super().__init__(*args, **kwargs)
        self.header_timeout_s, self.header_timer, self.unsent_timer = header_timeout_s, None, None

    def connection_made(self, transport):
        super().connection_made(transport)
        self.header_timer = self.loop.call_later(self.header_timeout_s, transport.close)

    def data_received(self, data):
        if self.header_timer is None and self.conn.their_state is h11.IDLE:
            self.header_timer = self.loop.call_later(self.header_timeout_s, self.transport.close)
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self.stop_header_timer()

    def connection_lost(self, exc):
        self.stop_header_timer()
        if self.unsent_timer is not None:
            self.unsent_timer.cancel()
        super().connection_lost(exc)

    def stop_header_timer(self):
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def pause_writing(self):  # the transport holds more unsent answer than its high-water mark
        super().pause_writing()
        self.watch_unsent()

    def timeout_keep_alive_handler(self):
        super().timeout_keep_alive_handler()  # closes the connection once all is sent
        self.watch_unsent()

    def watch_unsent(self):
        unsent = self.transport.get_write_buffer_size()
        if self.unsent_timer is None and unsent:
            self.unsent_timer = self.loop.call_later(self.timeout_keep_alive, self.check_unsent, unsent)

    def check_unsent(self, before):
        self.unsent_timer = None
        if self.transport.get_write_buffer_size() == before:  # not a byte read in a keep-alive period
            self.transport.abort()
        else:
            self.watch_unsent()


def create_app(servables, max_body_bytes=16 * 2**20, max_rows=1024, batching=True, threads=None, parser=None,
               body_timeout_s=30, allowed_origins=(), loopback_only=False):
    """The Starlette app serving `servables` ({name: Servable}), parsing predict bodies with `parser` (a Parser);
    browser pages of `allowed_origins` may call it too (SameOrigin, CORS headers)."""
    parse = parser or Parser()
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
        name, inputs, row_format = await parse(body, servable, max_rows)
        signature = servable.signatures[name]
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
    if allowed_origins:
        app = CORSMiddleware(app, allow_origins=allowed_origins, allow_methods=["GET", "POST"],
                             allow_headers=["Content-Type"])
    return BodyLimits(SameOrigin(app, allowed_origins, loopback_only), max_body_bytes, body_timeout_s)


def run(settings, sock):
    """Loads every artifact under settings.models and serves them on `sock` (bound to settings.host and .port, by
    zoo.serve.bind) until interrupted."""
    import uvicorn

    servables = load_all(settings.models, settings.data_dir)
    # A JSON request of 64 images parses into 50k small lists, which set off a full garbage collection every other
    # request, each slowed by TensorFlow's many long-lived objects (~160 ms added, measured): frozen, collections
    # skip those objects.
    gc.freeze()
    parser = Parser()
    parser.warm_up()
    app = create_app(servables, settings.max_body_mb * 2**20, settings.max_batch, settings.batching, parser=parser,
                     body_timeout_s=settings.body_timeout_s, allowed_origins=settings.allow_origin,
                     loopback_only=is_loopback(settings.host))
    config = uvicorn.Config(app, log_level="warning",
                            http=functools.partial(TimedH11, header_timeout_s=settings.header_timeout_s),
                            timeout_keep_alive=settings.keep_alive_s,
                            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
    try:
        try:
            sock.listen(config.backlog)
        except OSError as error:  # another server took the port since it was bound
            raise ZooError(f"cannot serve on {settings.host}:{settings.port}: {error.strerror}") from None
        print(f"serving {len(servables)} models on http://{settings.host}:{settings.port}/ "
              f"(TensorFlow Serving REST API under /v1/models)", flush=True)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        parser.close()

