"""Training speed of M2 (`semi_supervised_vae`) under each speed setting on this CPU.

    python -m benchmarks.semi_supervised_speed

M2 as `recipes.pretrain_mnist` trains it (17-dim codes, batches of 500 unlabelled and 500 labelled codes), on random
codes: the speed depends on the shapes only. `zoo.speed.measure` times 40-step passes of float32 and mixed bfloat16,
each with and without XLA (alternating, best of 3 after one compiling pass). Writes
benchmarks/results/semi_supervised_speed.json with codes/s and seconds per 60,000-code epoch.
"""

from pathlib import Path

import numpy as np

import zoo
from benchmarks import write_results
from zoo import cli, flags

RESULTS = Path(__file__).parent / "results" / "semi_supervised_speed.json"
CODES, CODE_DIM, BATCH, LABELLED = 60_000, 17, 500, 100


def main(argv=None):
    flags.parse(flags.NoFlags, argv, prog="python -m benchmarks.semi_supervised_speed", description=__doc__)
    import tensorflow as tf  # only once the command line is known to be good

    from zoo import speed

    rng = np.random.default_rng(0)
    mean = rng.normal(size=(CODES, CODE_DIM)).astype(np.float32)
    stddev = np.full_like(mean, 0.1)
    labels = rng.integers(0, 10, CODES).astype(np.int32)
    batches = tf.data.Dataset.from_tensor_slices((mean, stddev, mean, stddev, labels)).batch(
        BATCH, drop_remainder=True).repeat()

    def build(xla, precision):
        model = zoo.get("semi_supervised_vae", input_dim=CODE_DIM, seed=0, labelled_weight=LABELLED / CODES)
        model.compile(**model.training_optimizers(1e-3), jit_compile=xla)
        return model

    options = [(xla, precision) for precision in ("float32", "mixed_bfloat16") for xla in (False, True)]
    rates = speed.measure(build, batches, options)
    results = {"cpu": speed.cpu_model(), "tensorflow": tf.__version__,
               "codes_per_s": {speed.option_name(*option): round(rate) for option, rate in rates.items()},
               "seconds_per_epoch": {speed.option_name(*option): round(CODES / rate, 2)
                                     for option, rate in rates.items()}}
    write_results(RESULTS, results)
    print(results)


if __name__ == "__main__":
    cli.run_main(main)
