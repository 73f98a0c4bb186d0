"""Configuration shared by recipes (layer 1: no TensorFlow, so that command lines parse and fail fast): the
names of what the lower layers build (binarizations, architectures, corruptions), the checks of the models'
arguments that involve several of them, and `TrainConfig`, the flags of every training recipe."""

import dataclasses
import inspect

from zoo import cluster, data_spec, files, flags
from zoo.flags import flag

DATA_DIR_ENV = "ZOO_DATA_DIR"
IMAGE_SHAPE = (28, 28, 1)  # MNIST: float32 [28, 28, 1] in [0, 1]; a model's image_shape may be any [H, W, C] or [d]
BINARIZATIONS = ("dynamic", "threshold", "none")


def resolved_binarization(binarization, data):
    """What --binarization `binarization` is for --data `data`: auto = dynamic for MNIST (its likelihoods are of
    dynamically binarized digits), none (the grey levels, or a table's values) for other data."""
    if binarization == "auto":
        return "dynamic" if data == "mnist" else "none"
    return binarization
ARCHITECTURES = ("mlp", "conv")  # zoo.nets builds each of these
OUTPUT_ACTIVATIONS = ("sigmoid", "linear")  # zoo.models.ae: sigmoid + cross-entropy, linear + squared error
# zoo.models.vae: p(x | z) Bernoulli (inputs in [0, 1]), Gaussian with a learned scale per input dimension, or with unit
# scale
LIKELIHOODS = ("bernoulli", "gaussian", "gaussian_fixed")
# Model flags whose "auto" follows the kind of data (zoo.sources): flag -> {kind: value}. A table's standardised
# real values take a Gaussian and squared error, images in [0, 1] a Bernoulli and cross-entropy.
AUTO_BY_DATA_KIND = {
    "likelihood": {"table": "gaussian", "images": "bernoulli"},
    "output_activation": {"table": "linear", "images": "sigmoid"},
}
CODE_ACTIVATIONS = ("linear", "sigmoid", "relu", "tanh")
# --strategy: auto = mirrored with several GPUs, else one device; multi_worker reads TF_CONFIG (zoo.cluster)
STRATEGIES = ("auto", "one", "mirrored", "multi_worker")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")  # Keras's mixed-precision policies a run may train in
# Corruptions of zoo.models.denoising: name -> (name of its level, check of the level, what the check allows)
CORRUPTION_LEVELS = {
    "masking": ("q", lambda level: 0 <= level < 1, "in [0, 1)"),
    "gaussian": ("sigma", lambda level: level >= 0, ">= 0"),
    "salt_and_pepper": ("fraction", lambda level: 0 <= level <= 1, "in [0, 1]"),
    "mixed": ("level", lambda level: 0 <= level < 1, "in [0, 1) (the largest q and sigma)"),
}


# Checks of a model's arguments that involve several of them. Each takes `shown` (how an argument's name is shown: as
# itself in a model's ValueError, as its flag on the command line) and the arguments it names, and returns a message
# or None. A model raises what `arguments_problem` finds in its arguments; `TrainConfig.check` reports the same for a
# recipe's model flags before TensorFlow starts.
def conv_width_problem(shown, arch, hidden_units):
    if arch == "conv" and not hidden_units:
        return (f"{shown('arch')} conv needs one {shown('hidden_units')} value (the width of its dense layer); "
                "received none")


def conv_shape_problem(image_shape, networks, alternative, divisor=1, min_side=1):
    """A message if convolutional `networks` cannot take inputs of `image_shape`: they need images [H, W, C] whose
    sides are at least `min_side` and divisible by `divisor`; `alternative` says what to use instead."""
    shape = tuple(image_shape)
    if len(shape) != 3:
        return (f"{networks} needs images [H, W, C]; received image_shape={shape}: rows [d] and other shapes need "
                f"{alternative}")
    bad = [side for side in shape[:2] if side % divisor or side < min_side]
    if bad:
        lower, upper = divisor * (bad[0] // divisor), divisor * max(-(-bad[0] // divisor), -(-min_side // divisor))
        sizes = [size for size in sorted({lower, upper}) if size >= min_side and size > 0]
        rule = " and ".join([f"divisible by {divisor}"] * (divisor > 1) + [f"of at least {min_side}"] * (min_side > 1))
        return (f"{networks} needs image sides {rule}; received image_shape={shape}: use sides of "
                f"{' or '.join(map(str, sizes))} (--image-size) or {alternative}")


def image_shape_problem(shown, arch, image_shape):
    # Two stride-2 convolutions each way: the decoder doubles a side twice from a quarter of it.
    if arch == "conv":
        return conv_shape_problem(image_shape, "the conv architecture", f"{shown('arch')} mlp", divisor=4)


def iwae_beta_problem(shown, beta, importance_samples):
    # With k > 1 a beta on the weights' log p(z) - log q(z|x) makes a weighted bound that is no standard objective.
    if beta != 1 and int(importance_samples) > 1:
        return (f"{shown('beta')} != 1 weighs the KL term of the ELBO; the importance-weighted bound "
                f"({shown('importance_samples')} > 1) has no KL term to weigh: use one or the other; received "
                f"{shown('beta')}={beta}, {shown('importance_samples')}={importance_samples}")


def dreg_beta_problem(shown, gradient_estimator, beta):
    if gradient_estimator == "dreg" and beta != 1:
        return (f"the dreg gradient is of the (importance-weighted) bound, which {shown('beta')} != 1 is not; "
                f"received {shown('beta')}={beta} with {shown('gradient_estimator')}=dreg")


def noise_level_problem(shown, corruption, noise_level):
    if corruption in CORRUPTION_LEVELS:  # an unknown one is refused with the choices
        level_name, valid, allowed = CORRUPTION_LEVELS[corruption]
        if not valid(noise_level):
            return (f"{shown('noise_level')} is {level_name} for {corruption} and must be {allowed}; received "
                    f"{shown('noise_level')}={noise_level}")


def standardize_problem(shown, standardize, likelihood):
    if standardize and likelihood == "bernoulli":
        return (f"{shown('standardize')} gives real-valued inputs, which a Bernoulli likelihood cannot model: use "
                f"{shown('likelihood')} gaussian or gaussian_fixed; received {shown('likelihood')}=bernoulli")


def standardize_output_problem(shown, standardize, output_activation):
    if standardize and output_activation == "sigmoid":
        return (f"{shown('standardize')} gives real-valued inputs, which a sigmoid output cannot reconstruct: use "
                f"{shown('output_activation')} linear; received {shown('output_activation')}=sigmoid")


ARGUMENT_CHECKS = (conv_width_problem, image_shape_problem, iwae_beta_problem, dreg_beta_problem, noise_level_problem,
                   standardize_problem, standardize_output_problem)


def arguments_problem(arguments, shown=str):
    """The first message of the ARGUMENT_CHECKS whose arguments are all among `arguments` (name -> value), or None."""
    for check in ARGUMENT_CHECKS:
        names = list(inspect.signature(check).parameters)[1:]
        if all(name in arguments for name in names):
            problem = check(shown, **{name: arguments[name] for name in names})
            if problem:
                return problem
    return None


def run_dir_flag(recipe):
    return flag(f"runs/{recipe}", "checkpoints, TensorBoard logs, metrics.json and figures; rerunning with the "
                                  "same run dir resumes (a new or empty directory, or one the zoo made)",
                flags.owned_dir(files.RUN_DIR))


def export_dir_flag(recipe):
    return flag(f"runs/{recipe}/saved_model", "where to write the SavedModel artifact ('' to skip export); "
                                              f"the committed one is saved_models/{recipe}")


@dataclasses.dataclass
class DistributeFlags(flags.Flags):
    """--strategy, --cpu-devices and --worker-timeout: how a recipe spreads its training over devices and machines
    (zoo.training's `make_strategy`). Every training recipe's flags include these."""

    strategy: str = flag("auto", "tf.distribute strategy: auto = mirrored with several GPUs, else one device; "
                                 "mirrored = every local GPU (or every --cpu-devices); multi_worker = "
                                 "MultiWorkerMirroredStrategy over the cluster in TF_CONFIG (the same command on "
                                 "every worker)", choices=STRATEGIES)
    cpu_devices: int = flag(1, "split the CPU into this many logical devices (without GPUs, --strategy mirrored "
                               "then trains one replica on each)", flags.count(1, 64))
    worker_timeout: int = flag(180, "multi_worker: seconds a worker waits for the other workers of TF_CONFIG to start "
                                    "before it stops with a line naming them", flags.count(1, 86_400))

    def check(self):
        """A message if the strategy's environment is wrong (TF_CONFIG for multi_worker: zoo.cluster), or None."""
        if self.strategy == "multi_worker":
            return cluster.problem()
        return None

    def shared_settings(self):
        """The settings every worker of a multi-worker run must have alike (zoo.training compares them when the workers
        meet): every field but PER_WORKER_FLAGS and the paths on each worker's machine (the flags ending in _dir)."""
        return {name: value for name, value in flags.settings_dict(self).items()
                if name not in PER_WORKER_FLAGS and not name.endswith("_dir")}


# Flags that the workers of one run may set apart: how long each waits for the others.
PER_WORKER_FLAGS = ("worker_timeout",)


# How a run is spread, not what it computes: never part of the settings a stored result is reused under.
DISTRIBUTE_FLAGS = tuple(field.name for field in dataclasses.fields(DistributeFlags))


# The kinds of data a source holds (zoo.data_spec.SourceArrays.kind), as a refusal names them
DATA_KINDS = {"images": "images (mnist, tfds:, images:, sklearn:digits or an arrays: file of images [n, H, W(, C)])",
              "table": "a table (csv:, sklearn:breast_cancer or an arrays: file of rows [n, d])"}


@dataclasses.dataclass
class DataFlags(flags.Flags):
    """--data and how it is read (zoo.sources): the flags of every recipe, search and benchmark that trains on data
    a user chooses."""

    data: str = flag("mnist", "what to train on: mnist, tfds:NAME[:SPLIT], images:DIR, arrays:FILE.npz, csv:FILE or "
                              "sklearn:NAME (breast_cancer, digits); docs/data.md", data_spec.problem)
    data_dir: str = flag(None, f"--data mnist: directory of the MNIST IDX files (default: ${DATA_DIR_ENV}, "
                               "then tensorflow-datasets)", flags.existing_dir)
    image_size: tuple = flag((), "resize images to H W (default: the source's own size)", flags.image_size)
    label_column: str = flag(None, "--data csv: the column holding each row's class (default: none; every column is a "
                                   "feature)")
    test_fraction: float = flag(0.2, "the share of a source without a test split held out as its test part (drawn "
                                     "with --seed, stratified by class)", flags.open_unit_interval)

    # The kinds of data (zoo.data_spec.kind_of_data) the command takes: a command that makes sense for images
    # alone says so, and a table is refused on its command line.
    DATA_KINDS = ("images", "table")

    def data_settings(self):
        """{flag: value} of the data flags alone, to hand to another config that reads the same data."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(DataFlags)}

    def check(self):
        if self.data != "mnist" and self.data_dir:
            return f"--data-dir is where MNIST is read from; --data {self.data} reads no MNIST"
        kind = data_spec.kind_of_data(self.data) if len(self.DATA_KINDS) < len(DATA_KINDS) else None
        if kind and kind not in self.DATA_KINDS:
            return (f"--data {self.data} holds {DATA_KINDS[kind]}; this command takes "
                    f"{' or '.join(DATA_KINDS[taken] for taken in self.DATA_KINDS)}")
        return super().check()


@dataclasses.dataclass
class TrainConfig(DataFlags, DistributeFlags):
    """Flags shared by every recipe. Recipes subclass it to set `model`, their own `DEFAULTS` (zoo.flags.Flags) and
    model flags."""

    model: str = "vae"
    epochs: int = flag(10, "training epochs", flags.EPOCHS)
    batch_size: int = flag(100, "images per batch (divides 60000 and 10000 by default)", flags.BATCH_SIZE)
    learning_rate: float = flag(1e-3, "Adam learning rate (peak)", flags.positive)
    lr_schedule: str = flag("cosine", "learning-rate schedule over all epochs", choices=("constant", "cosine"))
    seed: int = flag(0, "seed of data shuffling, initialization and the model's noise", flags.SEED)
    binarization: str = flag("auto", "binarization of the images ('none': grey levels in [0, 1]; 'dynamic': a fresh "
                                     "Bernoulli draw each epoch; auto = dynamic for --data mnist, none for other data)",
                             choices=("auto", *BINARIZATIONS))
    run_dir: str = run_dir_flag("model")
    export_dir: str = flag(None, "where to write the SavedModel artifact ('' to skip export)")
    xla: str = flag("auto", "XLA compilation: auto = on with a GPU; on CPU whichever a short measurement of this model "
                            "finds faster on this machine (cached; see zoo/speed.py)",
                    choices=("auto", "on", "off"))
    precision: str = flag("auto", "auto = mixed_float16 with a GPU, float32 on CPU (mixed_bfloat16 trains faster on CPUs "
                                  "with bfloat16 instructions but changes the result: docs/speed.md)",
                          choices=("auto", *PRECISIONS))
    eval_samples: int = flag(500, "importance samples k for the test log-likelihood (reported artifact "
                                  "numbers use 5000)", flags.count(1, 100_000))
    validation_size: int = flag(0, "training images held out for validation; 0 = validate on the test "
                                   "split (monitoring only, nothing is selected on it)", flags.count(0, 50_000))
    train_limit: int = flag(0, "use only the first N training images (0 = all)", flags.IMAGE_COUNT)
    profile_steps: str = flag("", "write a TensorBoard profiler trace of training steps A to B, e.g. '20,30', into "
                                  "<run dir>/logs (view it with tensorboard and tensorboard-plugin-profile); a profiled run "
                                  "steps one batch per compiled call",
                              flags.step_range)
    train_digits: tuple = flag((), "train (and validate) on images of these digits only, e.g. one class for "
                                   "anomaly detection (none = all digits); the test split keeps every digit",
                               flags.digits)
    # Choosing the checkpoint by Fréchet distance: a flag of the recipes of generators (recipes.gan_mnist), off for
    # the others.
    frechet_every: int = 0

    def check(self):
        """Checks involving several flags (`zoo.flags.parse` calls it): the model's (`arguments_problem`), then the
        export dir's; a message, or None."""
        problem = arguments_problem(flags.model_kwargs(self), flags.flag_name)
        if problem:
            return problem
        if self.export_dir:
            problem = files.export_dir_problem(self.export_dir, keep_clear_of=(self.run_dir,))
            if problem:
                return f"--export-dir: {problem}"
        return super().check()
