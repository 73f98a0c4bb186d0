"""The zoo's model server, the app and its routes (`python -m zoo.serve` parses the flags, then calls `run`): the
servables of zoo.servables served over TensorFlow Serving's REST API (zoo.wire_format), predict requests batched per
signature (zoo.request_batching), the gallery's list of cards, each artifact's figures and latent directions, and the
page of zoo/page/ at /, behind the connection and request limits of zoo.http_guards.

Built on Starlette (FastAPI's own core; the request and response bodies are TF Serving's, checked against each
signature, so FastAPI's pydantic layer would add nothing) under uvicorn.

Safe by default: model names, figure names and page files are looked up in what was loaded at start, never joined
into paths; request bodies have a size cap and predict requests a row cap; every bad request (malformed JSON, an
unknown model, signature or method, wrong input names, shapes or dtypes, values an endpoint refuses) gets a 4xx
with {"error": ...}, the endpoint's own message where the SavedModel's input checks refused it.
"""

import asyncio
import concurrent.futures
import functools
import gc
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from zoo.cluster import is_loopback
from zoo.errors import ZooError
from zoo.http_guards import BodyLimits, SameOrigin, TimedH11
from zoo.request_batching import Batcher
from zoo.request_parsing import RequestError
from zoo.servables import call_signature, load_all
from zoo.wire_format import VERSION, Parser, error_response, json_response, metadata_body, predict_body, status_body

PAGE_DIR = Path(__file__).parent / "page"
PAGE_FILES = {"index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css"}
# How long a stopped server waits for its open requests (a slow client's) before it closes them and cleans up.
GRACEFUL_SHUTDOWN_S = 5


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
        return json_response(status_body())

    async def metadata(request):
        servable = servable_of(request)
        return json_response(metadata_body(servable.name, servable.signature_defs))

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
            raise RequestError(f"{servable.name} has no latent directions (no images-only encoder, or a card "
                               "exported without them)", status=404)
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

    servables = load_all(settings.models)
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

