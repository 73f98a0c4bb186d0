"""Serving over HTTP: `python -m zoo.serve` answering TensorFlow Serving REST predicts on loopback, against calling
the same SavedModel in-process.

    python -m benchmarks.serving_http [--model vae_mnist --signature reconstruct --data-dir DIR
                                       --batch-sizes 1 64 --clients 1 8 32
                                       --requests 400 --min-seconds 5 --seconds 20]

For each batch size, first the SavedModel loaded in this process with tf.saved_model.load is called one request
after another (`in_process`: the floor, no HTTP and no JSON). Then the server is started in its own process on a
free loopback port, serving only --model, once with request batching on and once with it off (--no-batching);
for each number of concurrent clients, that many threads each keep one HTTP/1.1 connection and post
`{"signature_name": ..., "inputs": {"images": [...]}}` (the columnar format, bodies encoded once up front) back to
back. Every cell (the in-process ones too) runs for at least --min-seconds and until --requests requests have
completed, and stops at --seconds whatever the count, so that a p99 comes from seconds of requests, never from a
handful. Each response is read whole; any status but 200 stops the benchmark. Reported per cell: requests/s and
images/s over the cell's wall time, and p50 / p99 latency of single requests as the client saw them. Inputs are
real MNIST test images (binarized once) from --data-dir, else $ZOO_DATA_DIR. The clients run on the same CPU cores
as the server (there are no others here): the numbers are what one machine does serving itself, not a server's
capacity under a remote load generator.
Prints a table and writes --out (benchmarks/results/serving_http.json).
"""

import dataclasses
import http.client
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks import write_results
from zoo import cli, flags, serve
from zoo.errors import ZooError
from zoo.flags import flag

PROG = "python -m benchmarks.serving_http"
RESULTS = Path(__file__).parent / "results" / "serving_http.json"
WARM_UP_REQUESTS = 5


@dataclasses.dataclass
class ServingHttpConfig:
    """Flags of `python -m benchmarks.serving_http`."""

    models: str = flag("saved_models", "directory of the artifacts", flags.existing_dir)
    model: str = flag("vae_mnist", "the artifact to serve (a subdirectory of --models)")
    signature: str = flag("reconstruct", "the signature to call; it must take `images` only")
    data_dir: str = flag(None, "directory of the MNIST IDX files (default: $ZOO_DATA_DIR)", flags.existing_dir)
    batch_sizes: tuple = flag((1, 64), "images per request", flags.count(1, 1024))
    clients: tuple = flag((1, 8, 32), "numbers of concurrent clients", flags.count(1, 256))
    requests: int = flag(400, "requests per cell (all clients together), once --min-seconds have passed",
                         flags.count(1, 1_000_000))
    min_seconds: float = flag(5.0, "least seconds per cell", flags.positive)
    seconds: float = flag(20.0, "most seconds per cell", flags.positive)
    out: str = flag(str(RESULTS), "where to write the results (JSON)", flags.file_path)

    def check(self):
        problem = flags.artifact_dir({self.signature})("--model", str(Path(self.models) / self.model))
        if problem:
            return problem
        if self.min_seconds > self.seconds:
            return (f"--min-seconds ({self.min_seconds:g}) must not be more than --seconds ({self.seconds:g}); "
                    f"received --min-seconds={self.min_seconds:g} --seconds={self.seconds:g}")


@dataclasses.dataclass(frozen=True)
class Stop:
    """When a cell is over: after `min_seconds` once `requests` have completed, or after `max_seconds` anyway."""

    requests: int
    min_seconds: float
    max_seconds: float

    def __call__(self, completed, elapsed):
        return elapsed >= self.max_seconds or (elapsed >= self.min_seconds and completed >= self.requests)


def start_server(model_dir, batching, scratch):
    """`python -m zoo.serve` serving only `model_dir` (through a directory in `scratch` holding a link to it)."""
    models = Path(tempfile.mkdtemp(dir=scratch))
    (models / model_dir.name).symlink_to(model_dir.resolve())
    return serve.ServerProcess(["--models", str(models), "--batching" if batching else "--no-batching"],
                               Path(scratch) / f"server_batching_{'on' if batching else 'off'}.log")


def post_loop(port, path, body, stop, latencies, failures):
    """One client: posts `body` on one kept-alive connection until `stop` is set, appending each request's seconds
    to `latencies` (or the failure's description to `failures`, and stops)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json"}
    try:
        while not stop.is_set():
            start = time.perf_counter()
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            payload = response.read()
            if response.status != 200:
                failures.append(f"HTTP {response.status}: {payload[:300]!r}")
                stop.set()
                return
            latencies.append(time.perf_counter() - start)
    except OSError as error:
        failures.append(f"{type(error).__name__}: {error}")
        stop.set()
    finally:
        connection.close()


def http_cell(port, path, body, clients, stop_when):
    """`clients` threads posting `body` until `stop_when(requests completed, seconds)`: (latencies, seconds)."""
    stop, latencies, failures = threading.Event(), [], []
    threads = [threading.Thread(target=post_loop, args=(port, path, body, stop, latencies, failures), daemon=True)
               for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    while not stop.is_set() and not stop_when(len(latencies), time.perf_counter() - start):
        time.sleep(0.01)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise ZooError(f"a request failed: {failures[0]}")
    return latencies, elapsed


def summary(latencies, elapsed, batch):
    """requests/s, images/s, p50 and p99 latency (ms) of a cell."""
    rate = len(latencies) / elapsed
    return {"requests": len(latencies), "seconds": round(elapsed, 2), "requests_per_s": round(rate, 1),
            "images_per_s": round(rate * batch, 1), "p50_ms": round(1e3 * float(np.percentile(latencies, 50)), 2),
            "p99_ms": round(1e3 * float(np.percentile(latencies, 99)), 2)}


def in_process(model_dir, signature, bodies_images, stop_when):
    """The signature called in this process, request after request: {batch: summary}."""
    import tensorflow as tf

    import zoo

    call = zoo.load_artifact(model_dir, {signature}).signatures[signature]
    results = {}
    for batch, images in bodies_images.items():
        inputs = tf.constant(images)
        for _ in range(WARM_UP_REQUESTS):
            call(images=inputs)
        latencies, start = [], time.perf_counter()
        while not stop_when(len(latencies), time.perf_counter() - start):
            begin = time.perf_counter()
            {name: value.numpy() for name, value in call(images=inputs).items()}
            latencies.append(time.perf_counter() - begin)
        results[batch] = summary(latencies, time.perf_counter() - start, batch)
    return results


def table(results):
    """The results as a markdown table."""
    lines = ["| path | batch | clients | requests/s | images/s | p50 ms | p99 ms |", "|---|---|---|---|---|---|---|"]
    for batch, cell in results["in_process"].items():
        lines.append(f"| in-process SavedModel call | {batch} | 1 | {cell['requests_per_s']:.0f} | "
                     f"{cell['images_per_s']:.0f} | {cell['p50_ms']:.2f} | {cell['p99_ms']:.2f} |")
    for mode, cells in results["http"].items():
        for cell in cells:
            lines.append(f"| HTTP, batching {mode} | {cell['batch']} | {cell['clients']} | "
                         f"{cell['requests_per_s']:.0f} | {cell['images_per_s']:.0f} | {cell['p50_ms']:.2f} | "
                         f"{cell['p99_ms']:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    """Times the signature in-process and over HTTP (batching on and off), prints a table and writes --out."""
    settings = flags.parse(ServingHttpConfig, argv, prog=PROG, description=__doc__)
    batch_sizes, client_counts = settings.batch_sizes, settings.clients
    model_dir = Path(settings.models) / settings.model
    from zoo import data, speed

    test_images = data.binarize_once(data.load_mnist_arrays(settings.data_dir)["test"][0])
    images = {batch: test_images[:batch] for batch in batch_sizes}
    bodies = {batch: json.dumps({"signature_name": settings.signature,
                                 "inputs": {"images": images[batch].tolist()}}).encode() for batch in batch_sizes}
    path = f"/v1/models/{settings.model}:predict"
    stop_when = Stop(settings.requests, settings.min_seconds, settings.seconds)
    results = {"cpu": speed.cpu_model(), "cores": os.cpu_count(), "command": flags.command_line(PROG, argv),
               "model": settings.model, "signature": settings.signature, "requests_per_cell": settings.requests,
               "min_seconds_per_cell": settings.min_seconds, "max_seconds_per_cell": settings.seconds,
               "request_body_bytes": {batch: len(body) for batch, body in bodies.items()},
               "in_process": in_process(model_dir, settings.signature, images, stop_when), "http": {}}
    print("in-process: timed", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        for batching in (True, False):
            mode = "on" if batching else "off"
            server = start_server(model_dir, batching, scratch)
            try:
                cells = []
                for batch in batch_sizes:
                    http_cell(server.port, path, bodies[batch], 1, Stop(WARM_UP_REQUESTS, 0, settings.seconds))
                    for clients in client_counts:
                        latencies, elapsed = http_cell(server.port, path, bodies[batch], clients, stop_when)
                        cells.append({"batch": batch, "clients": clients, **summary(latencies, elapsed, batch)})
                        print(f"HTTP, batching {mode}, batch {batch}, {clients} clients: "
                              f"{cells[-1]['requests_per_s']:.0f} requests/s", flush=True)
            finally:
                server.stop()
            results["http"][mode] = cells
    print(table(results))
    out = Path(settings.out)
    write_results(out, results)
    print(f"{results['cpu']} ({results['cores']} cores); wrote {out}")
    return results


if __name__ == "__main__":
    cli.run_main(main)
