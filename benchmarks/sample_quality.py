"""Sample quality of every generative artifact on one scale:

    python -m benchmarks.sample_quality --data-dir DIR [--samples 10000]

Each generator draws `--samples` images through its exported SavedModel (plain TensorFlow). The
classifier of saved_models/mnist_classifier then gives, for each set: the Fréchet distance between its
penultimate-layer features and those of the 10,000 MNIST test images (the FID with this classifier
in place of Inception); its mean confidence (max class probability); how many of the ten classes get
at least 1% of the samples; and the largest and smallest class shares. The floor is the same distance
from as many training images to the test set. Writes benchmarks/results/sample_quality.{json,md}, a grid of 50
samples per generator and all the grids side by side (benchmarks/results/sample_quality/side_by_side.png).
"""

import dataclasses
import json
from pathlib import Path

import numpy as np

from zoo import cli, config, flags
from zoo.flags import flag

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


@dataclasses.dataclass
class SampleQualityConfig:
    data_dir: str = flag(None, f"directory of the MNIST IDX files (default: ${config.DATA_DIR_ENV})", flags.existing_dir)
    classifier: str = flag(str(ROOT / "saved_models" / "mnist_classifier"), "the classifier artifact",
                          flags.artifact_dir({"classify"}))
    samples: int = flag(10000, "images drawn from each generator", flags.count(10, 60_000))
    seed: int = flag(0, "seed of the draws", flags.SEED)
    results: str = flag(str(RESULTS / "sample_quality"), "path stem of the .json and .md results")


def draw(artifact, num, seed, chunk=1000):
    """`num` images from an artifact's sample endpoint, in chunks with distinct seeds."""
    import tensorflow as tf

    return np.concatenate([artifact.sample(tf.constant(min(chunk, num - start)), tf.constant(seed + start))["images"]
                           .numpy() for start in range(0, num, chunk)])


def generators(settings):
    """(row name, artifact dir, function(num, seed) -> images)."""
    import tensorflow as tf

    from zoo.batching import apply_in_batches

    def sampler(name):
        return lambda num, seed: draw(tf.saved_model.load(str(ROOT / "saved_models" / name)), num, seed)

    def conditional(name):
        def sample(num, seed):
            artifact = tf.saved_model.load(str(ROOT / "saved_models" / name))
            per_digit = num // 10
            return np.concatenate([artifact.sample(tf.constant(per_digit), tf.constant(seed + digit),
                                                   tf.constant(digit))["images"].numpy() for digit in range(10)])

        return sample

    def standard_normal(num, seed):
        artifact = tf.saved_model.load(str(ROOT / "saved_models" / "ae_mnist"))
        size = artifact.decode.concrete_functions[0].structured_input_signature[0][0].shape[-1]
        codes = tf.random.stateless_normal([num, size], seed=[seed, 0]).numpy()
        return apply_in_batches(lambda batch: artifact.decode(batch)["probs"], codes, 1000)

    return [
        ("VAE", "vae_mnist", sampler("vae_mnist")),
        ("VAE with two stochastic layers", "two_layer_vae_mnist", sampler("two_layer_vae_mnist")),
        ("convolutional VAE", "conv_vae_mnist", sampler("conv_vae_mnist")),  # measured, not committed: see README
        ("beta-VAE (beta = 4)", "beta_vae_mnist", sampler("beta_vae_mnist")),
        ("conditional VAE (num/10 of each digit)", "cvae_mnist", conditional("cvae_mnist")),
        ("autoencoder + Gaussian mixture (10 components)", "ae_mixture_mnist", sampler("ae_mixture_mnist")),
        ("autoencoder + N(0, I)", "ae_mnist", standard_normal),
        ("GAN", "gan_mnist", sampler("gan_mnist")),
    ]


def main(argv=None):
    settings = flags.parse(SampleQualityConfig, argv, prog="python -m benchmarks.sample_quality", description=__doc__)
    import zoo
    from zoo import data, metrics, plots

    classifier = zoo.load_artifact(settings.classifier, {"classify"})  # kept: its functions use its variables
    classify = classifier.classify
    arrays = data.mnist_grayscale(settings.data_dir)
    test, train = arrays["test"][0], arrays["train"][0]
    reference, _ = metrics.classifier_outputs(classify, test)
    rows = []
    picked = np.random.default_rng(settings.seed).choice(len(train), settings.samples, replace=False)
    rows.append({"generator": f"floor: {settings.samples:,} MNIST training images", "artifact": None,
                 "command": "the MNIST training set", **metrics.sample_quality(classify, train[picked], reference)})
    figures = RESULTS / "sample_quality"
    figures.mkdir(parents=True, exist_ok=True)
    panels = []
    for name, artifact, sample in generators(settings):
        card_path = ROOT / "saved_models" / artifact / "card.json"
        if not card_path.exists():
            print(f"skipping {name}: saved_models/{artifact} does not exist")
            continue
        images = sample(settings.samples, settings.seed)
        quality = metrics.sample_quality(classify, images, reference)
        shown = images[np.random.default_rng(0).choice(len(images), 50, replace=False)]
        plots.image_grid(shown, 5, figures / f"{artifact}{'_standard_normal' if 'N(0' in name else ''}.png", name)
        panels.append((f"{name}\nFréchet distance {quality['frechet_distance']:.1f}", shown[:36]))
        rows.append({"generator": name, "artifact": f"saved_models/{artifact}",
                     "command": json.loads(card_path.read_text())["command"], **quality})
        print(f"{name}: {quality}", flush=True)
    if panels:
        plots.grids_side_by_side(panels, 6, figures / "side_by_side.png")
    table = markdown(rows, settings.samples)
    Path(f"{settings.results}.json").write_text(json.dumps({"samples": settings.samples, "rows": rows}, indent=1) + "\n")
    Path(f"{settings.results}.md").write_text(table)
    print(table)


def markdown(rows, samples):
    headers = ["generator", "Fréchet distance (classifier features)", "mean confidence", "classes with >= 1%",
               "largest / smallest class share", "artifact", "command"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        lines.append("| " + " | ".join([
            row["generator"], f"{row['frechet_distance']:.2f}", f"{row['mean_confidence']:.3f}",
            str(row["classes_present"]), f"{row['largest_class_share']:.3f} / {row['smallest_class_share']:.3f}",
            f"`{row['artifact']}`" if row["artifact"] else "-",
            f"`{row['command']}`" if row["command"].startswith("python") else row["command"]]) + " |")
    return "\n".join(lines) + f"\n\n{samples} samples per generator; reference: the 10,000 MNIST test images.\n"


if __name__ == "__main__":
    cli.run_main(main)
