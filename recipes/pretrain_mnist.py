"""Pretraining a deep classifier with stacked denoising autoencoders: `python -m recipes.pretrain_mnist --help`.

Greedy layer-wise pretraining (Vincent et al., 2010): one denoising autoencoder per hidden layer,
each reconstructing the previous layer's code from a masked copy, on all 60,000 training images
without labels. Then an MLP classifier starts from the stacked encoders and is fine-tuned with a label
budget (100, 1,000 or all 60,000 labels, class-balanced, several seeds for the small budgets),
against the same network from random initialization trained the same way. Reports test accuracy,
mean and sample standard deviation over seeds, in <out-dir>/results.json and results.md. The pretrained
stack and every finished fine-tuning run are kept, so a rerun with the same settings and data continues where
it stopped (and pretrains nothing if every run is done).
"""

import dataclasses
import json
from pathlib import Path

from zoo import cli, config, flags
from zoo.flags import flag
from zoo.errors import ZooError
from zoo.files import atomic_write_text, settings_mismatch

PROG = "python -m recipes.pretrain_mnist"
INITIALIZATIONS = ("random", "pretrained")


@dataclasses.dataclass
class PretrainMnistConfig(config.DistributeFlags):
    """Flags of `python -m recipes.pretrain_mnist`."""

    data_dir: str = flag(None, f"directory of the MNIST IDX files (default: ${config.DATA_DIR_ENV})", flags.existing_dir)
    hidden_units: tuple = flag((1000, 1000, 1000), "widths of the hidden layers (one denoising AE each)", flags.WIDTHS)
    noise_level: float = flag(0.25, "masking probability q of the denoising autoencoders", flags.unit_interval_right_open)
    pretrain_epochs: int = flag(15, "epochs of each layer's pretraining", flags.EPOCHS)
    budgets: tuple = flag((100, 1000, 60000), "label budgets (labelled training images)", flags.count(1, 60_000))
    seeds: int = flag(5, "seeds (label subsets and initializations) for budgets below 60000", flags.count(1, 100))
    finetune_steps: int = flag(3000, "fine-tuning steps of each classifier, whatever the budget", flags.count(1, 1_000_000))
    learning_rate: float = flag(5e-4, "Adam learning rate of pretraining and fine-tuning", flags.positive)
    batch_size: int = flag(100, "batch size (a smaller budget uses all its images per batch)", flags.BATCH_SIZE)
    out_dir: str = flag("runs/pretrain_mnist", "where the stack, results.json and results.md go; rerunning resumes")


def load_or_pretrain(settings, images, data_fingerprint):
    """The pretrained stack, from <out-dir>/stack/<data fingerprint> if an earlier run saved it, else trained and
    saved there."""
    import zoo
    from zoo import pretraining

    paths = [Path(settings.out_dir) / "stack" / data_fingerprint / f"layer{depth + 1}.keras"
             for depth in range(len(settings.hidden_units))]
    if all(path.exists() for path in paths):
        print(f"reusing the pretrained stack in {paths[0].parent}")
        return [zoo.load(path) for path in paths]
    stack = pretraining.pretrain_stack(images, settings.hidden_units, settings.noise_level, settings.pretrain_epochs,
                                       settings.batch_size, settings.learning_rate, verbose=2)
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    for layer, path in zip(stack, paths):
        layer.save(path)
    return stack


def finetune(settings, stack, initialization, images, labels, test, seed):
    """Test accuracy of the classifier trained on (images, labels) for the fine-tuning steps."""
    import keras

    import zoo
    from zoo import pretraining, training

    keras.utils.set_random_seed(seed)
    if initialization == "pretrained":
        classifier = pretraining.classifier_from_stack(stack, seed=seed)
    else:
        classifier = zoo.get("mlp_classifier", hidden_units=settings.hidden_units, seed=seed)
    batch = min(settings.batch_size, len(images))
    epochs = max(1, round(settings.finetune_steps / (len(images) // batch)))
    training.train_arrays(classifier, (images, labels), epochs, batch, settings.learning_rate, seed)
    return float(classifier.evaluate(*test, batch_size=1000, return_dict=True, verbose=0)["accuracy"])


def main(argv=None):
    settings = flags.parse(PretrainMnistConfig, argv, prog=PROG, description=__doc__)
    return cli.run_distributed(run, settings, argv, 'out_dir')


def run(settings, argv):
    """The recipe, in the scope of its --strategy."""
    import numpy as np

    from zoo import data, pretraining
    from zoo.files import ResultStore

    arrays = data.mnist_grayscale(settings.data_dir)
    (train_images, train_labels), (test_images, test_labels) = arrays["train"], arrays["test"]
    train_labels, test = train_labels.astype(np.int32), (test_images, test_labels.astype(np.int32))
    out = Path(settings.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    defining = {k: v for k, v in dataclasses.asdict(settings).items()
                if k not in ("budgets", "seeds", "out_dir", "data_dir", *config.DISTRIBUTE_FLAGS)}
    fingerprint = data.mnist_fingerprint(settings.data_dir)
    runs = ResultStore(out / "results.json", defining, fingerprint, extra={"command": flags.command_line(PROG, argv)})
    stack = None
    for budget in settings.budgets:
        for seed in range(settings.seeds if budget < len(train_labels) else 1):
            subset = pretraining.labelled_subset(train_labels, budget, seed)
            for initialization in INITIALIZATIONS:
                key = f"{budget}/{seed}/{initialization}"
                if key not in runs:
                    stack = stack or load_or_pretrain(settings, train_images, fingerprint)
                    runs.put(key, finetune(settings, stack, initialization, train_images[subset], train_labels[subset],
                                           test, seed))
                print(f"{budget} labels, seed {seed}, {initialization}: test accuracy {runs[key]:.4f}", flush=True)
    lines = ["| labels | seeds | " + " | ".join(f"{i} init: test accuracy" for i in INITIALIZATIONS) + " |",
             "|---|---|" + "---|" * len(INITIALIZATIONS)]
    for budget in settings.budgets:
        cells = []
        for initialization in INITIALIZATIONS:
            seeds = range(settings.seeds if budget < len(train_labels) else 1)
            values = [runs[f"{budget}/{seed}/{initialization}"] for seed in seeds]
            spread = f" ± {np.std(values, ddof=1):.4f}" if len(values) > 1 else ""
            cells.append(f"{np.mean(values):.4f}{spread} (error {100 * (1 - np.mean(values)):.2f}%)")
        lines.append(f"| {budget} | {len(values)} | " + " | ".join(cells) + " |")
    lines.append("\n± is the sample standard deviation over the seeds (ddof = 1).")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    cli.run_main(main)
