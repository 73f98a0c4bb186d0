"""Learning from few labels with autoencoders: `python -m recipes.pretrain_mnist --help`.

Two ways an autoencoder trained without labels helps a classifier, compared on label budgets (100, 1,000 or all
60,000 labels, class-balanced, several seeds for the small budgets), each reported as test accuracy, mean and sample
standard deviation over seeds, in <out-dir>/results.json and results.md (with --validation-size N, accuracy on the
last N training images, held out from everything but the feature VAE, in place of the test set):
- Pretraining (Vincent et al., 2010): greedy layer-wise stacked denoising autoencoders, one per hidden layer, each
  reconstructing the previous layer's code from a masked copy, on all 60,000 training images. An MLP classifier
  starts from the stacked encoders and is fine-tuned ("pretrained"), against the same network from random
  initialization trained the same way ("random").
- The VAE as a feature learner (Kingma et al., 2014), for the budgets in --vae-budgets: M1, a classifier (an RBF support vector
  machine) on the codes of a VAE trained on all training images ("vae_m1"); and M1+M2, the semi-supervised VAE M2
  trained on those codes, labelled and unlabelled at once ("vae_m1_m2").
- The Ladder network (Rasmus et al., 2015; zoo.models.ladder), a denoising autoencoder with lateral connections
  trained on every training image (unlabelled) and the labelled ones at once ("ladder"; not in the default --methods:
  the paper's 150 epochs take hours per run on a CPU).
The pretrained stack and every finished run are kept, so a rerun with the same settings and data continues where it
stopped (and pretrains nothing if every run is done); a Ladder run backs up its state after every epoch under
<out-dir>/ladder and resumes from it.
"""

import dataclasses
from pathlib import Path

from zoo import cli, config, flags
from zoo.flags import flag

PROG = "python -m recipes.pretrain_mnist"
OUT_DIR = f"the output dir of {PROG}"
ALL_LABELS = 60_000
ACTIVE_CODE_STDDEV = 0.1
METHOD_NAMES = ("random", "pretrained", "vae_m1", "vae_m1_m2", "ladder")  # the keys of METHODS, below
DEFAULT_METHODS = METHOD_NAMES[:4]
VAE_METHODS = ("vae_m1", "vae_m1_m2")
# Flags that only one method reads: they are part of its results' keys rather than of the whole out dir's settings,
# so that adding a method to an out dir keeps the results already in it.
METHOD_FLAGS = {"ladder": ("ladder_epochs", "ladder_learning_rate", "ladder_decay_start", "ladder_noise_std")}


def method_settings(settings, method):
    """{flag: value} of the flags only `method` reads (METHOD_FLAGS), as the run's settings serialise them."""
    values = flags.settings_dict(settings)
    return {name: values[name] for name in METHOD_FLAGS.get(method, ())}


@dataclasses.dataclass
class PretrainMnistConfig(config.DataFlags, config.DistributeFlags):
    """Flags of `python -m recipes.pretrain_mnist`: MNIST by default, or other labelled images (--data)."""

    DATA_KINDS = ("images",)  # the denoising autoencoders reconstruct values in [0, 1]

    methods: tuple = flag(DEFAULT_METHODS, "the classifiers to compare (the VAE ones on --vae-budgets only)",
                          choices=METHOD_NAMES)
    hidden_units: tuple = flag((1000, 1000, 1000), "widths of the hidden layers (one denoising AE each)", flags.WIDTHS)
    noise_level: float = flag(0.25, "masking probability q of the denoising autoencoders", flags.unit_interval_right_open)
    pretrain_epochs: int = flag(15, "epochs of each layer's pretraining", flags.EPOCHS)
    budgets: tuple = flag((100, 1000, ALL_LABELS), "label budgets (labelled training images; a budget of all of "
                                                   "them or more takes every label)",
                          flags.count(1, ALL_LABELS))
    seeds: int = flag(5, "seeds (label subsets and initializations) for budgets below the training images",
                      flags.count(1, 100))
    finetune_steps: int = flag(3000, "fine-tuning steps of each MLP classifier on a budget below 60000",
                               flags.count(1, 1_000_000))
    all_labels_epochs: int = flag(150, "fine-tuning epochs of each MLP classifier with all 60000 labels (150: "
                                  "chosen with --validation-size 10000 over 60)",
                                  flags.EPOCHS)
    learning_rate: float = flag(5e-4, "Adam learning rate of pretraining, and fine-tuning's peak (cosine-decayed to "
                                "0 over the fine-tuning)", flags.positive)
    finetune_dropout: float = flag(0.5, "dropout rate after every hidden layer of the MLP classifier in "
                                   "fine-tuning (Srivastava et al., 2014)", flags.unit_interval_right_open)
    finetune_input_dropout: float = flag(0.2, "dropout rate of the MLP classifier's input pixels in fine-tuning",
                                         flags.unit_interval_right_open)
    batch_size: int = flag(100, "batch size (a smaller budget uses all its images per batch)", flags.BATCH_SIZE)
    feature_vae: str = flag("saved_models/vae_mnist", "VAE artifact whose codes (its encode endpoint's mean and "
                            "stddev) M1 and M1+M2 learn from",
                            flags.artifact_dir({"encode"}, models=("vae", "two_layer_vae")))
    vae_budgets: tuple = flag((100,), "the label budgets (of --budgets) that vae_m1 and vae_m1_m2 run on",
                              flags.count(1, ALL_LABELS - 1))
    m2_epochs: int = flag(200, "epochs of M2 (passes over the 60000 unlabelled codes; 200: chosen with "
                          "--validation-size 10000 over 100)", flags.EPOCHS)
    m2_batch_size: int = flag(500, "unlabelled codes per M2 batch (each paired with a labelled one)",
                              flags.BATCH_SIZE)
    m2_learning_rate: float = flag(1e-3, "Adam learning rate of M2", flags.positive)
    m2_alpha: float = flag(0.1, "M2's weight on the labelled cross-entropy, as Kingma et al.'s alpha / N",
                           flags.positive)
    ladder_epochs: int = flag(150, "epochs of the Ladder network (passes over the unlabelled training images, each "
                              "paired with a labelled one; 150: the paper's)", flags.EPOCHS)
    ladder_learning_rate: float = flag(0.002, "the Ladder network's Adam learning rate (the paper's), decayed "
                                       "linearly to 0 from --ladder-decay-start", flags.positive)
    ladder_decay_start: float = flag(0.67, "the share of the Ladder network's epochs after which its learning rate "
                                     "decays (the paper's 100 of 150)", flags.unit_interval_right_open)
    ladder_noise_std: float = flag(0.3, "standard deviation of the Ladder network's corruption noise (the paper's)",
                                   flags.non_negative)
    validation_size: int = flag(0, "training images (the last ones) held out from pretraining, fine-tuning and the "
                                "VAE methods' labels and scored in place of the test set, to choose settings on "
                                "(0: score on the test set)", flags.count(0, 50_000))
    out_dir: str = flag("runs/pretrain_mnist", "where the stack, results.json and results.md go; rerunning resumes",
                         flags.owned_dir(OUT_DIR))

    def check(self):
        """The VAE methods run on --vae-budgets only: a value there that is not among --budgets would run nothing."""
        vae_methods = [method for method in self.methods if method in VAE_METHODS]
        outside = [budget for budget in self.vae_budgets if budget not in self.budgets]
        if vae_methods and outside:
            shown = {name: " ".join(map(str, values)) for name, values in (
                ("allowed", [budget for budget in self.budgets if budget < ALL_LABELS]), ("vae", self.vae_budgets),
                ("budgets", self.budgets))}
            return (f"--vae-budgets takes values of --budgets below {ALL_LABELS}: {shown['allowed'] or 'none'} (or "
                    f"leave {' and '.join(vae_methods)} out of --methods); received --vae-budgets={shown['vae']} "
                    f"--budgets={shown['budgets']}")
        return super().check()


class Experiment:
    """The data and what the methods share (the pretrained stack and the VAE codes, made on first use); each method
    is a function (experiment, labelled subset, seed) -> test accuracy, in METHODS."""

    def __init__(self, settings, arrays):
        import numpy as np

        from zoo import sources
        from zoo.data import unit_images

        sources.require_labels(arrays.y_train is not None, arrays.spec, PROG)
        self.images, labels = unit_images(arrays.x_train), arrays.y_train
        self.test_images, test_labels = unit_images(arrays.x_test), arrays.y_test
        if settings.validation_size:  # the held-out training images stand in for the test set
            held_out = len(self.images) - settings.validation_size
            self.test_images, test_labels = self.images[held_out:], labels[held_out:]
            self.images, labels = self.images[:held_out], labels[:held_out]
        self.labels, self.test_labels = labels.astype(np.int32), test_labels.astype(np.int32)
        self.settings, self.fingerprint, self.num_classes = settings, arrays.fingerprint, len(arrays.class_names)
        self._stack = self._codes = None

    def stack(self):
        """The pretrained stack, from <out-dir>/stack/<key of its settings and images> if an earlier run saved it,
        else trained and saved there (zoo.pretraining.stored_stack)."""
        from zoo import pretraining

        if self._stack is None:
            settings = self.settings
            self._stack = pretraining.stored_stack(Path(settings.out_dir) / "stack", self.images,
                                                   settings.hidden_units, settings.noise_level,
                                                   settings.pretrain_epochs, settings.batch_size,
                                                   settings.learning_rate, verbose=2)
        return self._stack

    def codes(self):
        """{"train"|"test": (mean, stddev)} of the feature VAE's q(z | x) for the training and test images, on the
        code dimensions the VAE uses: those whose mean varies over the training images by a standard deviation above
        ACTIVE_CODE_STDDEV (the others carry the prior, N(0, 1), whatever the image; Kingma et al.'s code drops
        them the same way)."""
        import zoo
        from zoo.batching import apply_in_batches

        if self._codes is None:
            vae = zoo.load_artifact(self.settings.feature_vae, {"encode"})
            zoo.require_input_shape(f"--feature-vae {self.settings.feature_vae}", zoo.endpoint_input_shape(vae, "encode"),
                                    self.settings.data, self.images.shape[1:])
            outputs = {part: apply_in_batches(vae.encode, images, 1000)
                       for part, images in (("train", self.images), ("test", self.test_images))}
            active = outputs["train"]["mean"].std(axis=0) > ACTIVE_CODE_STDDEV
            print(f"{self.settings.feature_vae}: {active.sum()} of {active.size} code dimensions active", flush=True)
            self._codes = {part: (out["mean"][:, active], out["stddev"][:, active]) for part, out in outputs.items()}
        return self._codes


def mlp_accuracy(experiment, subset, seed, pretrained):
    """Test accuracy of the MLP classifier (from the stack, or random) fine-tuned on the labelled subset (all labels:
    --all-labels-epochs; fewer: --finetune-steps)."""
    import keras

    import zoo
    from zoo import pretraining, training

    settings = experiment.settings
    keras.utils.set_random_seed(seed)
    arguments = {"dropout": settings.finetune_dropout, "input_dropout": settings.finetune_input_dropout,
                 "image_shape": experiment.images.shape[1:]}
    if pretrained:
        classifier = pretraining.classifier_from_stack(experiment.stack(), experiment.num_classes, seed=seed,
                                                       **arguments)
    else:
        classifier = zoo.get("mlp_classifier", hidden_units=settings.hidden_units, num_classes=experiment.num_classes,
                             seed=seed, **arguments)
    batch = min(settings.batch_size, len(subset))
    steps_per_epoch = len(subset) // batch
    all_labels = len(subset) == len(experiment.images)
    if all_labels:
        epochs = settings.all_labels_epochs
    else:
        epochs = max(1, round(settings.finetune_steps / steps_per_epoch))
    schedule = keras.optimizers.schedules.CosineDecay(settings.learning_rate, epochs * steps_per_epoch)
    training.train_arrays(classifier, (experiment.images[subset], experiment.labels[subset]), epochs, batch, schedule,
                          seed, verbose=2 if all_labels else 0)  # a line per epoch of the long runs, not per step
    return float(classifier.evaluate(experiment.test_images, experiment.test_labels, batch_size=1000,
                                     return_dict=True, verbose=0)["accuracy"])


def m1_accuracy(experiment, subset, seed):
    """M1: an RBF support vector machine (scikit-learn's defaults) on the labelled images' VAE code means."""
    from sklearn.svm import SVC

    codes = experiment.codes()
    machine = SVC().fit(codes["train"][0][subset], experiment.labels[subset])
    return float(machine.score(codes["test"][0], experiment.test_labels))


def m1_m2_accuracy(experiment, subset, seed):
    """M1+M2: M2 on the VAE codes of all training images (unlabelled) and of the labelled subset, codes drawn from
    q(z | x) afresh at each step; test accuracy of its q(y | x) at the test images' code means."""
    import keras
    import numpy as np

    import zoo
    from zoo import training

    settings, codes = experiment.settings, experiment.codes()
    mean, stddev = codes["train"]
    # Each batch pairs unlabelled rows with as many labelled ones: the labelled subset, reshuffled and repeated.
    rng = np.random.default_rng(seed)
    repeats = -(-len(mean) // len(subset))
    paired = np.concatenate([rng.permutation(subset) for _ in range(repeats)])[:len(mean)]
    keras.utils.set_random_seed(seed)
    # Every training image is also an unlabelled one: Kingma et al.'s objective per unlabelled row (see the model).
    model = zoo.get("semi_supervised_vae", input_dim=mean.shape[1], num_classes=experiment.num_classes, seed=seed,
                    alpha=settings.m2_alpha,
                    labelled_weight=len(subset) / len(mean))
    training.train_arrays(model, (mean, stddev, mean[paired], stddev[paired], experiment.labels[paired]),
                          settings.m2_epochs, settings.m2_batch_size, settings.m2_learning_rate, seed, verbose=2)
    predicted = np.argmax(model.predict(codes["test"][0], batch_size=1000, verbose=0), -1)
    return float((predicted == experiment.test_labels).mean())


def ladder_learning_rate(settings, epoch):
    """The paper's schedule: --ladder-learning-rate, then a linear decay to 0 over the epochs after
    --ladder-decay-start (per epoch, as the reference implementation decays it)."""
    start = int(settings.ladder_decay_start * settings.ladder_epochs)
    return settings.ladder_learning_rate * min(1.0, (settings.ladder_epochs - epoch) / max(1, settings.ladder_epochs - start))


def ladder_accuracy(experiment, subset, seed):
    """The Ladder network on every training image (unlabelled) paired with the labelled subset (repeated), each run
    backed up after every epoch (keras.callbacks.BackupAndRestore) so that a rerun resumes it; test accuracy of its
    clean pass. Its epochs' metrics (with --validation-size, the held-out images' error too: the test set is read
    once, at the end) go to <out-dir>/ladder/<labels>-<seed>-<its flags>.csv and are drawn beside it (plots.ladder_curves)."""
    import keras
    import numpy as np

    import zoo
    from zoo import plots, training
    from zoo.batching import apply_in_batches

    settings, images = experiment.settings, experiment.images
    rng = np.random.default_rng(seed)
    repeats = -(-len(images) // len(subset))
    paired = np.concatenate([rng.permutation(subset) for _ in range(repeats)])[:len(images)]
    keras.utils.set_random_seed(seed)
    model = zoo.get("ladder", image_shape=images.shape[1:], num_classes=experiment.num_classes,
                    noise_std=settings.ladder_noise_std, seed=seed)
    # another setting of the method is another run, in its own files
    name = "-".join([str(len(subset)), str(seed), *map(str, method_settings(settings, "ladder").values())])
    backup = Path(settings.out_dir) / "ladder" / name
    log = backup.parent / f"{name}.csv"  # (not with_suffix: the name holds dots)
    log.parent.mkdir(parents=True, exist_ok=True)
    validation = (experiment.test_images, experiment.test_labels) if settings.validation_size else None
    training.train_arrays(model, (images, images[paired], experiment.labels[paired]), settings.ladder_epochs,
                          settings.batch_size, settings.ladder_learning_rate, seed, verbose=2, validation=validation,
                          callbacks=[  # the log before the backup: an epoch logged but not backed up is logged again
                              keras.callbacks.LearningRateScheduler(lambda epoch: ladder_learning_rate(settings, epoch)),
                              keras.callbacks.CSVLogger(str(log), append=True),
                              keras.callbacks.BackupAndRestore(str(backup))])
    plots.ladder_curves(log, backup.parent / f"{name}.png", f"Ladder network, {len(subset)} labels, seed {seed}")
    predicted = np.argmax(apply_in_batches(model.classify, experiment.test_images, 1000)["probs"], -1)
    return float((predicted == experiment.test_labels).mean())


METHODS = {
    "random": lambda experiment, subset, seed: mlp_accuracy(experiment, subset, seed, pretrained=False),
    "pretrained": lambda experiment, subset, seed: mlp_accuracy(experiment, subset, seed, pretrained=True),
    "vae_m1": m1_accuracy,
    "vae_m1_m2": m1_m2_accuracy,
    "ladder": ladder_accuracy,
}
assert tuple(METHODS) == METHOD_NAMES


def main(argv=None):
    settings = flags.parse(PretrainMnistConfig, argv, prog=PROG, description=__doc__)
    return cli.run_distributed(run, settings, argv, 'out_dir')


def run(settings, argv):
    """The recipe, in the scope of its --strategy."""
    import numpy as np

    from zoo import pretraining, sources
    from zoo.files import Number, ResultStore, owned_dir

    out = owned_dir(settings.out_dir, OUT_DIR)
    # The data's fingerprint covers the data flags (and the settings a source was read with).
    defining = {k: v for k, v in flags.settings_dict(settings).items()
                if k not in ("methods", "budgets", "vae_budgets", "seeds", "out_dir", *settings.data_settings(),
                             *config.DISTRIBUTE_FLAGS, *(name for names in METHOD_FLAGS.values() for name in names))}
    experiment = Experiment(settings, sources.load_flags(settings))
    runs = ResultStore(out / "results.json", defining, experiment.fingerprint,
                       extra={"command": flags.command_line(PROG, argv)}, validate=Number(0, 1))  # an accuracy

    def methods_of(budget):
        return [m for m in settings.methods if m not in VAE_METHODS or budget in settings.vae_budgets]

    def key_of(budget, seed, method):  # with the values of the flags only this method reads
        return " ".join([f"{budget}/{seed}/{method}",
                         *(f"{name}={value}" for name, value in method_settings(settings, method).items())])

    def seeds_of(budget):  # every label: one subset, one run
        return range(settings.seeds if budget < len(experiment.labels) else 1)

    for budget in settings.budgets:
        for seed in seeds_of(budget):
            subset = pretraining.labelled_subset(experiment.labels, budget, seed, experiment.num_classes)
            for method in methods_of(budget):
                key = key_of(budget, seed, method)
                if key not in runs:
                    runs.put(key, METHODS[method](experiment, subset, seed))
                print(f"{budget} labels, seed {seed}, {method}: test accuracy {runs[key]:.4f}", flush=True)
    lines = ["| labels | seeds | " + " | ".join(f"{m}: test accuracy" for m in settings.methods) + " |",
             "|---|---|" + "---|" * len(settings.methods)]
    for budget in settings.budgets:
        cells = []
        for method in settings.methods:
            if method not in methods_of(budget):
                cells.append("-")
                continue
            values = [runs[key_of(budget, seed, method)] for seed in seeds_of(budget)]
            spread = f" ± {np.std(values, ddof=1):.4f}" if len(values) > 1 else ""
            cells.append(f"{np.mean(values):.4f}{spread} (error {100 * (1 - np.mean(values)):.2f}%)")
        lines.append(f"| {budget} | {len(seeds_of(budget))} | " + " | ".join(cells) + " |")
    lines.append("\n± is the sample standard deviation over the seeds (ddof = 1).")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    cli.run_main(main)
