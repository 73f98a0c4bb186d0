"""Every classic autoencoder variant on MNIST, trained by its recipe with its defaults and the same epochs,
in one table beside PCA and raw pixels:

    python -m benchmarks.classic_autoencoders --data-dir DIR [--epochs 30] [--export]

For each variant it runs the recipe (`python -m recipes.<variant>_mnist --epochs E ...`; run dirs under
`--runs-dir` resume), then measures on the 10,000 grayscale test images: binary cross-entropy and
squared error per image, squared error against the clean digit when the input is masked with q = 0.5,
the mean Jacobian Frobenius norm ||d code / d x||_F (first 1,000 test images), the mean code activation
(sigmoid codes), and the test accuracy of a logistic-regression probe fit on the 60,000 training codes.
With `--export` each recipe also exports to saved_models/<variant>_mnist (the committed artifacts).
Writes benchmarks/results/classic_autoencoders.{json,md} and prints the markdown table.
"""

import dataclasses
import json
import statistics
import time
from pathlib import Path

import numpy as np

from zoo import cli, config, flags
from zoo.flags import flag

VARIANTS = ("ae", "linear_ae", "tied_ae", "sparse_ae", "denoising_ae", "contractive_ae")
RESULTS = Path(__file__).resolve().parent / "results"


RUNS_DIR = "the runs dir of python -m benchmarks.classic_autoencoders"


@dataclasses.dataclass
class BenchmarkConfig:
    epochs: int = flag(30, "training epochs of every variant", flags.EPOCHS)
    data_dir: str = flag(None, f"directory of the MNIST IDX files (default: ${config.DATA_DIR_ENV})", flags.existing_dir)
    runs_dir: str = flag("runs/classic_autoencoders", "parent of the variants' run dirs (they resume)",
                         flags.owned_dir(RUNS_DIR))
    export: bool = flag(False, "also export each variant to saved_models/<variant>_mnist")
    variants: tuple = flag(VARIANTS, "variants to train", choices=VARIANTS)
    train_limit: int = flag(0, "use only the first N training images (0 = all; for a quick check)", flags.IMAGE_COUNT)
    results: str = flag(str(RESULTS / "classic_autoencoders"), "path stem of the .json and .md results")


def train_variant(name, settings):
    """Runs the variant's recipe; returns (its metrics, the trained model, its run dir, its command)."""
    import importlib

    recipe = importlib.import_module(f"recipes.{name}_mnist")
    run_dir = Path(settings.runs_dir) / name
    argv = ["--epochs", str(settings.epochs), "--run-dir", str(run_dir),
            "--export-dir", f"saved_models/{name}_mnist" if settings.export else ""]
    if settings.data_dir:
        argv = ["--data-dir", settings.data_dir, *argv]
    if settings.train_limit:
        argv += ["--train-limit", str(settings.train_limit)]
    metrics = recipe.main(argv)
    from zoo import training

    model = training.load_trained(flags.parse(recipe.main.config_cls, argv))
    return metrics, model, run_dir, flags.command_line(recipe.PROG, argv)


def seconds_per_epoch(run_dir):
    """Median training seconds of the epochs that did not compile."""
    state = json.loads((Path(run_dir) / "checkpoint.json").read_text())
    return statistics.median(state["steady_epoch_seconds"] or state["epoch_seconds"])


def measure_baselines(train_images, train_labels, test_images, test_labels, code_size):
    """PCA with `code_size` components and raw pixels, measured as the variants are."""
    from zoo import metrics as zm
    from zoo.batching import apply_in_batches

    rows = []
    start = time.perf_counter()
    flat = train_images.reshape(len(train_images), -1).astype(np.float64)
    mean = flat.mean(0)
    _, _, rows_v = np.linalg.svd(flat - mean, full_matrices=False)
    components = rows_v[:code_size].T.astype(np.float32)
    fit_seconds = time.perf_counter() - start
    shape = test_images.shape[1:]

    def pca_reconstruct(images):
        codes = (np.asarray(images).reshape(len(images), -1) - mean) @ components
        return np.clip(codes @ components.T + mean, 0, 1).reshape(-1, *shape)

    def pca_encode_tf(images):
        import tensorflow as tf

        return tf.matmul(tf.reshape(images, [tf.shape(images)[0], -1]) - mean.astype(np.float32), components)

    def identity_encode_tf(images):
        import tensorflow as tf

        return tf.reshape(images, [tf.shape(images)[0], -1])

    for name, encode, reconstruct, size, seconds, how in (
            (f"PCA (k={code_size})", pca_encode_tf, pca_reconstruct, code_size, f"{fit_seconds:.1f} (SVD)",
             "numpy SVD of the centred training images, in this benchmark"),
            ("raw pixels", identity_encode_tf, np.asarray, int(np.prod(shape)), "-", "the identity")):
        clean = zm.reconstruction_errors(reconstruct, test_images)
        masked = zm.reconstruction_errors(reconstruct, zm.masked(test_images), targets=test_images)
        rows.append({
            "variant": name, "code_size": size, "test_bce_nats": None,
            "test_squared_error": clean["squared_error"],
            "masked_squared_error": masked["squared_error"],
            "jacobian_norm": float(np.mean(zm.jacobian_frobenius_norms(encode, test_images[:zm.JACOBIAN_IMAGES]))),
            "mean_activation": None,
            "probe_accuracy": zm.linear_probe_accuracy(apply_in_batches(encode, train_images), train_labels,
                                                       apply_in_batches(encode, test_images), test_labels),
            "seconds_per_epoch": seconds, "artifact": None, "command": how,
        })
    return rows


def markdown(rows, epochs):
    def cell(value, fmt="{:.2f}"):
        return "-" if value is None else fmt.format(value) if isinstance(value, float) else str(value)

    headers = ["variant", "code size", "test BCE, nats", "test squared error", "masked q=0.5: squared error",
               "mean ||J||_F", "mean activation", "probe accuracy", "s / epoch", "command"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        lines.append("| " + " | ".join([
            f"`{row['variant']}`" if row["artifact"] else row["variant"], str(row["code_size"]),
            cell(row["test_bce_nats"]), cell(row["test_squared_error"]), cell(row["masked_squared_error"]),
            cell(row["jacobian_norm"]), cell(row["mean_activation"], "{:.3f}"),
            cell(row["probe_accuracy"], "{:.4f}"), cell(row["seconds_per_epoch"], "{:.1f}"),
            f"`{row['command']}`" if row["command"].startswith("python") else row["command"]]) + " |")
    return "\n".join(lines) + f"\n\nAll variants: {epochs} epochs, batch 100, Adam 1e-3 with cosine decay, defaults otherwise.\n"


def main(argv=None):
    settings = flags.parse(BenchmarkConfig, argv, prog="python -m benchmarks.classic_autoencoders", description=__doc__)
    from zoo import data
    from zoo.batching import apply_in_batches
    from zoo.files import owned_dir
    from zoo.metrics import linear_probe_accuracy

    owned_dir(settings.runs_dir, RUNS_DIR)
    arrays = data.mnist_grayscale(settings.data_dir)
    (train_images, train_labels), (test_images, test_labels) = arrays["train"], arrays["test"]
    if settings.train_limit:
        train_images, train_labels = train_images[:settings.train_limit], train_labels[:settings.train_limit]
    rows = []
    for name in settings.variants:
        metrics, model, run_dir, command = train_variant(name, settings)
        probe = linear_probe_accuracy(apply_in_batches(model.encode, train_images), train_labels,
                                      apply_in_batches(model.encode, test_images), test_labels)
        rows.append({
            "variant": name, "code_size": model.latent_dim, "test_bce_nats": metrics.get("test_bce_nats"),
            "test_squared_error": metrics["test_squared_error"],
            "masked_squared_error": metrics["test_masked_q0.5_squared_error"],
            "jacobian_norm": metrics["test_jacobian_norm"], "mean_activation": metrics.get("test_mean_activation"),
            "probe_accuracy": probe, "seconds_per_epoch": seconds_per_epoch(run_dir),
            "artifact": f"saved_models/{name}_mnist" if settings.export else None, "command": command,
        })
        print(f"{name}: probe accuracy {probe:.4f}", flush=True)
    rows += measure_baselines(train_images, train_labels, test_images, test_labels, code_size=32)
    table = markdown(rows, settings.epochs)
    Path(settings.results).parent.mkdir(parents=True, exist_ok=True)
    Path(f"{settings.results}.json").write_text(json.dumps({"epochs": settings.epochs, "rows": rows}, indent=1) + "\n")
    Path(f"{settings.results}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    cli.run_main(main)
