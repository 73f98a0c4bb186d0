"""Serving speed of an exported artifact in plain TensorFlow against the Keras model called eagerly.

    python -m benchmarks.serving_speed [--model-dir saved_models/vae_mnist --data-dir DIR --requests 200 --repeats 3]

For each of the endpoints `reconstruct`, `sample` and `score` three callables are timed on the same inputs:
  saved_model      the artifact loaded with tf.saved_model.load, called through `.signatures[name]`;
  saved_model_xla  that signature call wrapped in tf.function(jit_compile=True) ("unsupported", with the error's
                   first line, when XLA cannot compile it);
  keras_eager      the model methods behind the endpoint (zoo.signatures, zoo.models.vae) called eagerly:
                   `model(images)`, `model.sample(num, seed_pair(seed))`, `model.anomaly_score(images)`. The model
                   is the artifact's model.keras (the trained weights); an artifact without one gets a fresh,
                   untrained model built from card.json's model_config (same computation, fine for timing). The
                   endpoints also check their inputs in the graph (finite, in [0, 1]); the eager calls do not.
Inputs are real MNIST test images (binarized once, as the recipes evaluate) from --data-dir, else $ZOO_DATA_DIR.
Every callable is warmed up at both batch sizes first. Latency: wall time of single calls at batch 1 (sample:
num=1), each output copied to numpy, p50 and p99 over --requests calls, the callables taking turns request by
request. Throughput: images/s at batch 256 (sample: num=256) over passes of --batches calls, median of --repeats
passes, the callables alternating pass by pass. Each callable's largest output difference from the SavedModel's
on one batch is recorded too (XLA draws other stateless random numbers on CPU). Prints a table and writes
--out (benchmarks/results/serving_speed.json).
"""

import dataclasses
import statistics
import time
from pathlib import Path

import numpy as np

import zoo
from benchmarks import write_results
from zoo import cli, flags
from zoo.errors import ZooError
from zoo.flags import flag

PROG = "python -m benchmarks.serving_speed"
RESULTS = Path(__file__).parent / "results" / "serving_speed.json"
ENDPOINTS = ("reconstruct", "sample", "score")
XLA_VARIANTS = ("saved_model_xla",)  # the callables whose failure to compile is recorded, not raised
THROUGHPUT_BATCH = 256
WARM_UP_CALLS = 3


@dataclasses.dataclass
class ServingSpeedConfig:
    """Flags of `python -m benchmarks.serving_speed`."""

    model_dir: str = flag("saved_models/vae_mnist", "the artifact: a SavedModel directory with card.json "
                          "(and model.keras)", flags.artifact_dir(ENDPOINTS))
    data_dir: str = flag(None, "directory of the MNIST IDX files (default: $ZOO_DATA_DIR)", flags.existing_dir)
    requests: int = flag(200, "timed batch-1 calls per callable, for p50 and p99 latency", flags.count(1, 100_000))
    batches: int = flag(20, f"calls at batch {THROUGHPUT_BATCH} per throughput pass", flags.count(1, 10_000))
    repeats: int = flag(3, "timed throughput passes per callable (alternating)", flags.count(1, 100))
    out: str = flag(str(RESULTS), "where to write the results (JSON)", flags.file_path)


def keras_model(model_dir):
    """(the Keras model behind the artifact in `model_dir`, where it came from): its model.keras if there is one,
    else a fresh, untrained model with card.json's constructor config (for timing only)."""
    model_dir = Path(model_dir)
    if (model_dir / "model.keras").is_file():
        return zoo.load(model_dir / "model.keras"), f"{model_dir / 'model.keras'} (trained weights)"
    card = zoo.card(model_dir)
    return (zoo.get(card["model"], **card["model_config"]),
            f"untrained {card['model']} built from {model_dir / 'card.json'} model_config (timing only)")


def keras_calls(model):
    """{endpoint: callable taking the endpoint's inputs by name}: the model methods behind each endpoint, eagerly."""
    from zoo import signatures

    return {
        "reconstruct": lambda images: model(images),
        "sample": lambda num, seed: model.sample(num, signatures.seed_pair(seed)),
        "score": lambda images: model.anomaly_score(images),
    }


def requests_of(endpoint, images, count, batch):
    """`count` input dicts of `endpoint` at `batch` images (or num=batch samples): consecutive test images,
    wrapping around; a different seed per sample request."""
    import tensorflow as tf

    if endpoint == "sample":
        return [{"num": tf.constant(batch), "seed": tf.constant(index)} for index in range(count)]
    starts = [(index * batch) % (len(images) - batch + 1) for index in range(count)]
    return [{"images": tf.constant(images[start:start + batch])} for start in starts]


def run(call, request):
    """The call's outputs for one request, copied to numpy (so that the timing includes getting the result)."""
    outputs = call(**request)
    return {name: tensor.numpy() for name, tensor in outputs.items()} if isinstance(outputs, dict) else outputs.numpy()


def main_output(outputs):
    """The one output of an endpoint's dict (or the Keras call's tensor)."""
    return next(iter(outputs.values())) if isinstance(outputs, dict) else outputs


def first_line(error):
    """The first line of an error's message (XLA's run on for pages), at most 300 characters."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def warmed_up(calls, warm_ups):
    """`calls` once each has run WARM_UP_CALLS times on every request of `warm_ups` (one per batch size), and
    {name: the error's type and first line} of the XLA-compiled ones that failed to compile or run, which are
    dropped (any other callable's error is raised)."""
    import tensorflow as tf

    working, failures = {}, {}
    for name, call in calls.items():
        try:
            for request in warm_ups:
                for _ in range(WARM_UP_CALLS):
                    run(call, request)
            working[name] = call
        except (tf.errors.OpError, ValueError, TypeError) as error:
            if name not in XLA_VARIANTS:
                raise
            failures[name] = f"{type(error).__name__}: {first_line(error)}"
    return working, failures


def xla_compiled(signature):
    """The signature call wrapped in tf.function(jit_compile=True): XLA compiles it as one cluster per input shape
    (and per value of an input it needs as a constant, such as sample's num)."""
    import tensorflow as tf

    return tf.function(lambda **inputs: signature(**inputs), jit_compile=True)


def latencies_ms(calls, requests):
    """{name: [ms per call]}: every callable runs each request in turn, so that all see the same machine state."""
    times = {name: [] for name in calls}
    for request in requests:
        for name, call in calls.items():
            start = time.perf_counter()
            run(call, request)
            times[name].append(1e3 * (time.perf_counter() - start))
    return times


def throughputs(calls, requests, images_per_call, repeats):
    """{name: [images/s of each pass over `requests`]}, the callables alternating pass by pass."""
    rates = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            for request in requests:
                run(call, request)
            rates[name].append(len(requests) * images_per_call / (time.perf_counter() - start))
    return rates


def percentile(values, q):
    """The q-th percentile of `values`, linearly interpolated (numpy's default)."""
    return float(np.percentile(values, q))


def measure_endpoint(endpoint, calls, images, settings):
    """Warm-up, output differences, latencies and throughputs of one endpoint's callables: {variant: results}."""
    singles = requests_of(endpoint, images, settings.requests, 1)
    batches = requests_of(endpoint, images, settings.batches, THROUGHPUT_BATCH)
    working, failures = warmed_up(calls, [singles[0], batches[0]])
    reference = main_output(run(working["saved_model"], batches[0]))
    latency = latencies_ms(working, singles)
    rates = throughputs(working, batches, THROUGHPUT_BATCH, settings.repeats)
    results = {name: {"unsupported": message} for name, message in failures.items()}
    for name, call in working.items():
        results[name] = {
            "p50_ms": round(percentile(latency[name], 50), 3), "p99_ms": round(percentile(latency[name], 99), 3),
            "images_per_s": round(statistics.median(rates[name]), 1),
            "images_per_s_per_pass": [round(rate, 1) for rate in rates[name]],
        }
        if name != "saved_model":
            difference = np.max(np.abs(main_output(run(call, batches[0])) - reference))
            results[name]["max_abs_diff_vs_saved_model"] = float(difference)
    return {name: results[name] for name in calls}


def table(endpoints):
    """The results as a markdown table."""
    lines = [f"| endpoint | callable | p50 ms (batch 1) | p99 ms (batch 1) | images/s (batch {THROUGHPUT_BATCH}) "
             "| max abs diff vs SavedModel |", "|---|---|---|---|---|---|"]
    for endpoint, variants in endpoints.items():
        for name, result in variants.items():
            if "unsupported" in result:
                lines.append(f"| {endpoint} | {name} | unsupported: {result['unsupported'][:80]} | | | |")
                continue
            difference = result.get("max_abs_diff_vs_saved_model")
            lines.append(f"| {endpoint} | {name} | {result['p50_ms']:.2f} | {result['p99_ms']:.2f} | "
                         f"{result['images_per_s']:.0f} | {'-' if difference is None else f'{difference:.3g}'} |")
    return "\n".join(lines)


def main(argv=None):
    """Times the artifact's endpoints in plain TensorFlow (with and without XLA) and the eager Keras model, prints a
    table and writes the results to --out."""
    settings = flags.parse(ServingSpeedConfig, argv, prog=PROG, description=__doc__)
    import tensorflow as tf  # only once the flags are known to be good

    from zoo import data, speed

    model_dir = Path(settings.model_dir)
    images = data.binarize_once(data.load_mnist_arrays(settings.data_dir)["test"][0])
    loaded = zoo.load_artifact(model_dir, ENDPOINTS)
    missing = [name for name in ENDPOINTS if name not in loaded.signatures]
    if missing:
        raise ZooError(f"{model_dir} has no {', '.join(missing)} signature(s); it has {sorted(loaded.signatures)}")
    model, model_source = keras_model(model_dir)
    eager = keras_calls(model)
    results = {
        "cpu": speed.cpu_model(), "tensorflow": tf.__version__, "command": flags.command_line(PROG, argv),
        "model_dir": str(model_dir), "keras_model": model_source, "throughput_batch": THROUGHPUT_BATCH,
        "requests": settings.requests, "batches_per_pass": settings.batches, "repeats": settings.repeats,
        "input_signatures": {name: {key: f"{spec.dtype.name} {spec.shape}" for key, spec in
                                    loaded.signatures[name].structured_input_signature[1].items()}
                             for name in ENDPOINTS},
        "endpoints": {},
    }
    for endpoint in ENDPOINTS:
        signature = loaded.signatures[endpoint]
        calls = {"saved_model": signature,
                 "saved_model_xla": xla_compiled(signature),
                 "keras_eager": eager[endpoint]}
        results["endpoints"][endpoint] = measure_endpoint(endpoint, calls, images, settings)
        print(f"{endpoint}: timed", flush=True)
    print(table(results["endpoints"]))
    out = Path(settings.out)
    write_results(out, results)
    print(f"{results['cpu']}, TensorFlow {results['tensorflow']}; wrote {out}")
    return results


if __name__ == "__main__":
    cli.run_main(main)
