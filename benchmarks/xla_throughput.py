"""Training throughput of the VAE with XLA on and off, in one run on the same data.

    python -m benchmarks.xla_throughput --data-dir DIR [--steps 300 --repeats 2 --importance-samples 1]

Each mode trains a fresh model through the training core's `build_model`; the first pass over
`--steps` batches compiles and is discarded, the next `--repeats` passes are timed, alternating the
modes so that both see the same machine state. Prints a table and writes benchmarks/results/xla_throughput.json.
"""

import dataclasses
import json
import platform
import time
from pathlib import Path

import keras
import tensorflow as tf

from recipes.vae_mnist import VAEMnistConfig
from zoo import cli, data, training
from zoo.cli import flag


@dataclasses.dataclass
class BenchmarkConfig(VAEMnistConfig):
    """The VAE recipe's flags (model, batch size, precision, ...) plus the benchmark's own."""

    steps: int = flag(300, "timed training steps per pass", cli.positive)
    repeats: int = flag(2, "timed passes per mode", cli.positive)


def timed_pass(model, batches):
    start = time.perf_counter()
    model.fit(batches, epochs=1, verbose=0)
    return time.perf_counter() - start


def main(argv=None):
    config = cli.parse(BenchmarkConfig, argv, prog="python -m benchmarks.xla_throughput", description=__doc__)
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
    seconds = {mode: 0.0 for mode in models}
    for _ in range(config.repeats):
        for mode, model in models.items():
            seconds[mode] += timed_pass(model, batches)
    images = config.steps * config.batch_size * config.repeats
    throughput = {mode: images / s for mode, s in seconds.items()}
    device = "GPU" if tf.config.list_physical_devices("GPU") else f"CPU ({platform.processor() or 'unknown'})"
    result = {
        "device": device,
        "command": cli.command_line("python -m benchmarks.xla_throughput", argv),
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k != "data_dir"},
        "images_per_s": {mode: round(v, 1) for mode, v in throughput.items()},
        "xla_over_no_xla": round(throughput["on"] / throughput["off"], 3),
    }
    out = Path(__file__).parent / "results" / "xla_throughput.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"| XLA | images/s |\n|---|---|\n| off | {throughput['off']:.0f} |\n| on | {throughput['on']:.0f} |")
    print(f"XLA / no XLA = {result['xla_over_no_xla']:.2f} on {device}; wrote {out}")


if __name__ == "__main__":
    cli.run_main(main)
