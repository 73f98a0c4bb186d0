"""Training speed of the zoo's core against plain Keras, in one process on the same cached batches.

    python -m benchmarks.training_speed --data-dir DIR [--families mlp_vae ...] [--steps 300 --repeats 5]
        [--batch-sizes 64 128 ...] [--no-sweep] [--out FILE]

For each family the zoo model is built as the training core builds it (the recipe's defaults; the speed settings
`training.speed_settings` chooses on this machine, cached as a recipe caches them; several steps per compiled call) and
the reference is written the keras-io way (benchmarks/plain_keras.py): its own `train_step`, the same layers (zoo.nets, or the GAN's own
networks) and loss, `compile` with only the optimizer(s) set and `fit` with Keras's defaults. A first pass of
`--steps` batches compiles and is discarded; then `--repeats` timed passes alternate between the two, so that both
see the same machine state. Also measured in the same run: the fp32 (and bf16) rate of a 2048x2048x2048 tf.matmul,
against which each family's rate is put (FLOPs of the Dense, Conv2D and Conv2DTranspose layers only, forward and
backward: see `plain_keras.training_flops_per_image`). Then the MLP VAE, zoo and plain Keras, at each of
`--batch-sizes` with about as many images a pass as at its default batch size. The flags are parsed before
TensorFlow starts. Writes benchmarks/results/training_speed.json (`--out`)
and, beside it, the sweep's plot training_speed_batch_size.png.
"""

import dataclasses
import os
import statistics
import time
from pathlib import Path

from recipes.ae_mnist import AEMnistConfig
from recipes.cvae_mnist import CVAEMnistConfig
from recipes.gan_mnist import GANMnistConfig
from recipes.vae_mnist import VAEMnistConfig
from benchmarks import write_results
from zoo import cli, flags
from zoo.flags import flag

RESULTS = Path(__file__).parent / "results" / "training_speed.json"
SWEEP_PLOT = "training_speed_batch_size.png"
SWEEP_MIN_STEPS = 5  # batches a sweep pass takes at the least, so that fit's fixed cost stays small beside them


FAMILIES = {  # name: (recipe config class, changes to its defaults, plain Keras reference in benchmarks.plain_keras)
    "mlp_vae": (VAEMnistConfig, {}, "plain_vae"),
    "conv_vae": (VAEMnistConfig, {"arch": "conv", "hidden_units": (256,)}, "plain_vae"),
    "mlp_ae": (AEMnistConfig, {}, "plain_ae"),
    "conv_ae": (AEMnistConfig, {"arch": "conv"}, "plain_ae"),
    "gan": (GANMnistConfig, {}, "plain_gan"),
    "cvae": (CVAEMnistConfig, {}, "plain_cvae"),
}


@dataclasses.dataclass
class TrainingSpeedConfig:
    """Flags of `python -m benchmarks.training_speed`."""

    data_dir: str = flag(None, "directory of the MNIST IDX files", flags.existing_dir)
    families: tuple = flag(tuple(FAMILIES), "families to time", choices=tuple(FAMILIES), type=str)
    steps: int = flag(300, "training steps per timed pass", flags.count(10, 100_000))
    repeats: int = flag(5, "timed passes of each (alternating)", flags.count(1, 100))
    batch_sizes: tuple = flag((64, 128, 256, 512, 1024), "batch sizes at which to time the MLP VAE, zoo and plain "
                              "Keras", flags.BATCH_SIZE)
    sweep: bool = flag(True, "time the batch sizes (--no-sweep: the families only)")
    out: str = flag(str(RESULTS), "results JSON; the batch-size plot goes beside it", flags.file_path)


def matmul_rate(dtype, size=2048, repeats=10):
    """GFLOP/s of a size^3 tf.matmul in `dtype`, the best of five runs of `repeats` products."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal([size, size]), dtype)
    product = tf.function(lambda x: tf.matmul(x, x))
    product(a).numpy()
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            result = product(a)
        result.numpy()
        best = max(best, repeats * 2 * size ** 3 / (time.perf_counter() - start) / 1e9)
    return best


def timed_pass(model, batches, images):
    start = time.perf_counter()
    model.fit(batches, epochs=1, verbose=0)
    return images / (time.perf_counter() - start)


def family_config(family, data_dir, **changes):
    config_cls, defaults, _ = FAMILIES[family]
    return dataclasses.replace(config_cls(data_dir=data_dir), **{**defaults, **changes})


def time_pair(config, reference, steps, repeats):
    """({"zoo": images/s of each timed pass, "plain_keras": ...}, {name: jit_compile}, the zoo model)."""
    import keras
    import tensorflow as tf

    from zoo import data, speed, training

    dataset = data.mnist(config.batch_size, config.binarization, config.data_dir, config.seed)
    batches = dataset.train.take(steps).cache()
    images = sum(int(labels.shape[0]) for _, labels in batches)  # fills the cache: both read these from memory
    # The zoo model as the training core builds it: the speed settings it chooses on this machine (measured once and
    # cached, as a recipe does) and several steps per compiled call; the reference with Keras's defaults.
    strategy = tf.distribute.get_strategy()
    settings = training.speed_settings(config, strategy, dataset, steps)
    print(speed.describe(settings), flush=True)
    keras.mixed_precision.set_global_policy(settings["precision"])
    zoo_model = training.build_model(config, strategy, steps, settings["xla"], training.steps_per_execution(steps))
    keras.mixed_precision.set_global_policy("float32")
    models = {"zoo": zoo_model, "plain_keras": reference(config)}
    for model in models.values():
        timed_pass(model, batches, images)
    passes = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            passes[name].append(timed_pass(model, batches, images))
    return passes, {name: bool(model.jit_compile) for name, model in models.items()}, zoo_model


def summary(passes, jit_compile, flops, fp32_rate):
    """The results entry of one timed pair, and its printed line."""
    median = {name: statistics.median(values) for name, values in passes.items()}
    ratio = median["zoo"] / median["plain_keras"]
    entry = {"images_per_s": {k: [round(v) for v in vs] for k, vs in passes.items()},
             "median_images_per_s": {k: round(v) for k, v in median.items()},
             "zoo_over_plain_keras": round(ratio, 3), "jit_compile": jit_compile,
             "dense_and_conv_flops_per_image": flops,
             "fraction_of_fp32_matmul_rate": round(median["zoo"] * flops / 1e9 / fp32_rate, 3)}
    line = (f"zoo {median['zoo']:.0f} images/s, plain Keras {median['plain_keras']:.0f} ({ratio:.2f}x); dense and "
            f"conv layers at {median['zoo'] * flops / 1e9:.0f} GFLOP/s of the {fp32_rate:.0f} of an fp32 matmul")
    return entry, line


def batch_size_sweep(settings, fp32_rate):
    """The MLP VAE, zoo and plain Keras, at each of `settings.batch_sizes`; each pass takes about as many images
    as `settings.steps` batches of the default size (at least SWEEP_MIN_STEPS batches)."""
    from benchmarks import plain_keras

    images_per_pass = settings.steps * family_config("mlp_vae", settings.data_dir).batch_size
    rows = []
    for batch_size in settings.batch_sizes:
        config = family_config("mlp_vae", settings.data_dir, batch_size=batch_size)
        steps = max(SWEEP_MIN_STEPS, round(images_per_pass / batch_size))
        passes, jit_compile, zoo_model = time_pair(config, plain_keras.plain_vae, steps, settings.repeats)
        entry, line = summary(passes, jit_compile, plain_keras.training_flops_per_image(zoo_model), fp32_rate)
        rows.append({"batch_size": batch_size, "steps": steps, **entry})
        print(f"mlp_vae at batch size {batch_size} ({steps} steps): {line}", flush=True)
    return {"family": "mlp_vae", "images_per_pass": images_per_pass, "plot": SWEEP_PLOT, "rows": rows}


def plot_sweep(rows, cpu, path):
    """Images/s against batch size (log2 axis): the median pass of each, the range of the passes shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [row["batch_size"] for row in rows]
    fig, ax = plt.subplots(figsize=(5.6, 4))
    for name, label in (("zoo", "zoo (training.build_model)"), ("plain_keras", "plain Keras (keras-io train_step)")):
        ax.plot(sizes, [row["median_images_per_s"][name] for row in rows], marker="o", linewidth=1.2, label=label)
        ax.fill_between(sizes, [min(row["images_per_s"][name]) for row in rows],
                        [max(row["images_per_s"][name]) for row in rows], alpha=0.15)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(size) for size in sizes])
    ax.minorticks_off()
    ax.set_ylim(bottom=0)
    ax.set_xlabel("batch size")
    ax.set_ylabel("training images/s (median pass)")
    ax.set_title(f"MLP VAE training speed against batch size\n{cpu}, {os.cpu_count()} cores", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None):
    settings = flags.parse(TrainingSpeedConfig, argv, prog="python -m benchmarks.training_speed", description=__doc__)
    from benchmarks import plain_keras  # imports TensorFlow: only once the flags are known to be good
    from zoo import speed

    out = Path(settings.out)
    rates = {dtype: matmul_rate(dtype) for dtype in ("float32", "bfloat16")}
    results = {"cpu": speed.cpu_model(), "command": flags.command_line("python -m benchmarks.training_speed", argv),
               "matmul_gflops": {k: round(v) for k, v in rates.items()}, "families": {}}
    for family in settings.families:
        config = family_config(family, settings.data_dir)
        passes, jit_compile, zoo_model = time_pair(config, getattr(plain_keras, FAMILIES[family][2]), settings.steps,
                                                   settings.repeats)
        entry, line = summary(passes, jit_compile, plain_keras.training_flops_per_image(zoo_model), rates["float32"])
        results["families"][family] = {"batch_size": config.batch_size, **entry}
        print(f"{family}: {line}", flush=True)
    results["batch_size_sweep"] = batch_size_sweep(settings, rates["float32"]) if settings.sweep else None
    out.parent.mkdir(parents=True, exist_ok=True)
    if results["batch_size_sweep"]:
        print(f"wrote {plot_sweep(results['batch_size_sweep']['rows'], results['cpu'], out.parent / SWEEP_PLOT)}")
    write_results(out, results)
    print(f"{results['cpu']}; wrote {out}")


if __name__ == "__main__":
    cli.run_main(main)
