"""The whole VAE recipe against a plain Keras script, per epoch, each timed as a whole process.

    python -m benchmarks.recipe_speed --data-dir DIR [--epochs 1 4] [--repeats 2]

Runs `python -m recipes.vae_mnist` (its defaults: 2x512 MLP, batch 500, dynamic binarization; everything it does
every epoch included: validation, checkpoint, logs, pictures) and the keras-io-style script below (the same layers,
batch and binarization, `fit` with Keras's defaults) at the two epoch counts, alternating, in fresh processes. The
difference of the wall times over the difference of the epochs is each one's seconds per epoch: start-up, the
recipe's evaluation (k = 1 here for both runs of a pair) and export cancel out. Writes
benchmarks/results/recipe_speed.json.

    python -m benchmarks.recipe_speed --plain-script --epochs 3 --data-dir DIR   # the plain script by itself
"""

import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import data_dir_flag, run_checked, write_results
from zoo import cli, flags
from zoo.flags import flag

RESULTS = Path(__file__).parent / "results" / "recipe_speed.json"
PROG = "python -m benchmarks.recipe_speed"


@dataclasses.dataclass
class RecipeSpeedConfig:
    """Flags of `python -m benchmarks.recipe_speed`."""

    data_dir: str = flag(None, "directory of the MNIST IDX files", flags.existing_dir)
    epochs: tuple = flag((1, 4), "the two epoch counts whose difference is timed", flags.count(1, 1000))
    repeats: int = flag(2, "timed pairs of each (alternating)", flags.count(1, 20))
    plain_script: bool = flag(False, "run the plain Keras script once for the first --epochs value, and nothing else")
    out: str = flag(str(RESULTS), "results JSON", flags.file_path)

    def check(self):
        if not self.plain_script and (len(self.epochs) != 2 or self.epochs[0] >= self.epochs[1]):
            return f"--epochs needs two counts, the smaller first; received {list(self.epochs)}"
        return None


def plain_script(data_dir, epochs):
    """The keras-io way: a VAE with its own train_step (benchmarks.plain_keras.PlainVAE, the recipe's layers),
    compiled with Adam, `fit` with Keras's defaults on the dynamically binarized training batches."""
    from benchmarks.plain_keras import plain_vae
    from recipes.vae_mnist import VAEMnistConfig
    from zoo import data

    config = VAEMnistConfig(data_dir=data_dir)
    dataset = data.mnist(config.batch_size, config.binarization, data_dir, config.seed)
    plain_vae(config).fit(dataset.train, epochs=epochs, verbose=2)


def timed_process(args):
    start = time.perf_counter()
    run_checked([sys.executable, *args])
    return time.perf_counter() - start


def main(argv=None):
    settings = flags.parse(RecipeSpeedConfig, argv, prog=PROG, description=__doc__)
    if settings.plain_script:
        plain_script(settings.data_dir, settings.epochs[0])
        return
    from zoo import speed

    low, high = settings.epochs
    seconds_per_epoch = {"recipe": [], "plain_keras": []}
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(settings.repeats):
            for name in seconds_per_epoch:
                wall = []
                for epochs in (low, high):
                    if name == "recipe":
                        args = ["-m", "recipes.vae_mnist", *data_dir_flag(settings.data_dir), "--epochs", str(epochs),
                                "--eval-samples", "1", "--run-dir", f"{scratch}/{repeat}-{epochs}", "--export-dir", ""]
                    else:
                        args = ["-m", "benchmarks.recipe_speed", "--plain-script", *data_dir_flag(settings.data_dir),
                                "--epochs", str(epochs)]
                    wall.append(timed_process(args))
                seconds_per_epoch[name].append((wall[1] - wall[0]) / (high - low))
                print(f"{name}: {wall[0]:.1f} s for {low} epochs, {wall[1]:.1f} s for {high}: "
                      f"{seconds_per_epoch[name][-1]:.1f} s per epoch", flush=True)
    median = {name: statistics.median(values) for name, values in seconds_per_epoch.items()}
    results = {"cpu": speed.cpu_model(), "command": flags.command_line(PROG, argv),
               "seconds_per_epoch": {name: [round(s, 2) for s in values] for name, values in seconds_per_epoch.items()},
               "median_seconds_per_epoch": {name: round(s, 2) for name, s in median.items()},
               "recipe_speed_over_plain_keras": round(median["plain_keras"] / median["recipe"], 3)}
    write_results(settings.out, results)
    print(f"recipe {median['recipe']:.1f} s per epoch, plain Keras {median['plain_keras']:.1f}: the recipe at "
          f"{results['recipe_speed_over_plain_keras']}x; {results['cpu']}; wrote {settings.out}")


if __name__ == "__main__":
    cli.run_main(main)
