"""TensorFlow Serving's REST wire format: predict bodies parsed off the event loop (`Parser`, around
zoo.request_parsing), and the answers: predict's {"predictions"} or {"outputs"}, a model's status and metadata, and
errors as {"error": message}."""

import asyncio
import concurrent.futures
import multiprocessing

import numpy as np
import orjson
from starlette.responses import Response

from zoo import request_parsing
from zoo.request_parsing import InputSpec, RequestError, parse_predict

VERSION = "1"  # an artifact directory is one version of its model


def json_response(body, status=200):
    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), status, media_type="application/json")


def error_response(message, status):
    return json_response({"error": message}, status)


def status_body():
    """A model's status: its one version, available."""
    return {"model_version_status": [
        {"version": VERSION, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}


def metadata_body(name, signature_defs):
    """A model's metadata: its SignatureDefs ({name: SignatureDef as JSON}, zoo.servables.signature_defs)."""
    return {"model_spec": {"name": name, "signature_name": "", "version": VERSION},
            "metadata": {"signature_def": {"signature_def": signature_defs}}}


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
