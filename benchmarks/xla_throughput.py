"""Training throughput of the VAE with XLA on and off, in one run on the same data.

    python -m benchmarks.xla_throughput --data-dir DIR [--steps 300 --repeats 6 --importance-samples 1]

Each mode trains a fresh model through the training core's `build_model`; the first pass over
`--steps` batches compiles and is discarded, the next `--repeats` passes are timed, alternating the
modes so that both see the same machine state; the ratio is that of the median passes. Prints a table and writes benchmarks/results/xla_throughput.json.
"""

import dataclasses
import json
import os
import platform
import statistics
import time
from pathlib import Path

import keras
import tensorflow as tf

from recipes.vae_mnist import VAEMnistConfig
from zoo import cli, data, flags, training
from zoo.flags import flag


@dataclasses.dataclass
class BenchmarkConfig(VAEMnistConfig):
    """The VAE recipe's flags (model, batch size, precision, ...) plus the benchmark's own."""

    steps: int = flag(300, "timed training steps per pass", flags.count(1, 100_000))
    repeats: int = flag(6, "timed passes per mode (alternating)", flags.count(1, 1000))


def timed_pass(model, batches):
    start = time.perf_counter()
    model.fit(batches, epochs=1, verbose=0)
    return time.perf_counter() - start


def main(argv=None):
    config = flags.parse(BenchmarkConfig, argv, prog="python -m benchmarks.xla_throughput", description=__doc__)
    dataset = data.mnist(config.batch_size, config.binarization, config.data_dir, config.seed)
    batches = dataset.train.take(config.steps).cache()
    for _ in batches:  # fill the cache so that both modes read the same batches from memory
        pass
    keras.mixed_precision.set_global_policy(
        training.precision_policy(config.precision, bool(tf.config.list_physical_devices("GPU"))))
    strategy = tf.distribute.get_strategy()
    models = {mode: training.build_model(dataclasses.replace(config, xla=mode), strategy, config.steps, mode == "on")
              for mode in ("off", "on")}
    for model in models.values():
        timed_pass(model, batches)  # compile and warm up
    passes = {mode: [] for mode in models}
    for _ in range(config.repeats):
        for mode, model in models.items():
            passes[mode].append(config.steps * config.batch_size / timed_pass(model, batches))
    median = {mode: statistics.median(values) for mode, values in passes.items()}
    gpus = tf.config.list_physical_devices("GPU")
    result = {
        "device": f"{len(gpus)} GPU(s)" if gpus else f"CPU: {os.cpu_count()} cores, {_cpu_name()}",
        "command": flags.command_line("python -m benchmarks.xla_throughput", argv),
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k != "data_dir"},
        "images_per_s_per_pass": {mode: [round(v) for v in values] for mode, values in passes.items()},
        "median_images_per_s": {mode: round(v) for mode, v in median.items()},
        "xla_over_no_xla": round(median["on"] / median["off"], 3),
    }
    out = Path(__file__).parent / "results" / "xla_throughput.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print("| XLA | images/s, median | passes |\n|---|---|---|")
    for mode in ("off", "on"):
        print(f"| {mode} | {median[mode]:.0f} | {', '.join(str(round(v)) for v in passes[mode])} |")
    print(f"XLA / no XLA = {result['xla_over_no_xla']:.2f} on {result['device']}; wrote {out}")


def _cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    cli.run_main(main)
