"""The one training core: it fits and resumes a model, nothing else. Every recipe (through zoo.pipeline) and
every tuning trial calls `train`; short runs on in-memory arrays call `train_arrays`.

It owns the data pipeline, device choice (XLA, mixed precision; the distribution strategy is zoo.distribute's),
compile and the callbacks (progress bar, TensorBoard, a per-epoch checkpoint that resumes, a stop on a non-finite loss).
Evaluation, figures, cards and export are the publishing pipeline's (zoo.pipeline).
"""

import inspect
import json
import math
import re
import shutil
import sys
import time
from pathlib import Path

import keras
import tensorflow as tf

import zoo
from zoo import data, flags, signatures, sources, speed
from zoo.config import AUTO_BY_DATA_KIND, IMAGE_SHAPE, PRECISIONS, TrainConfig, resolved_binarization
from zoo.distribute import (check_workers_agree, current_strategy, is_chief, is_multi_worker, sharded, worker_dir,
                            worker_loss_reported)
from zoo.errors import TrainingDiverged, ZooError, in_one_line
from zoo.files import ListOf, Number, Record, atomic_write_text, owned_dir, present, read_json, remove_temporaries
from zoo.files import fault as files_fault
from zoo.files import RUN_DIR, replaced_atomically, settings_mismatch

# Flags that change what a run computes: a run dir only resumes with the same values.
RUN_DEFINING_FLAGS = ("epochs", "batch_size", "learning_rate", "lr_schedule", "seed", "binarization",
                      "train_limit", "validation_size", "train_digits", "precision")


# Steps per compiled call of the fit loop (the largest divisor of an epoch's steps up to this): the per-call overhead
# of Keras's loop was most of the gap to a plain tf.function loop.
STEPS_PER_EXECUTION = 50


def steps_per_execution(steps_per_epoch, most=STEPS_PER_EXECUTION):
    """The largest divisor of `steps_per_epoch` up to `most`, so that every epoch ends on a call's boundary."""
    return max(d for d in range(1, min(most, steps_per_epoch) + 1) if steps_per_epoch % d == 0)


def timing_batches(element_spec, seed=0):
    """A repeated dataset of one synthetic batch with the training batches' structure (binary images, digit
    labels), for timing the speed settings without drawing from the training streams."""
    def synthetic(spec):
        if spec.dtype.is_floating:
            return tf.cast(tf.random.stateless_uniform(spec.shape, [seed, 0]) < 0.5, spec.dtype)
        return tf.random.stateless_uniform(spec.shape, [seed, 1], 0, 10, dtype=spec.dtype)
    return tf.data.Dataset.from_tensors(tf.nest.map_structure(synthetic, element_spec)).repeat()


def dataset_of(config, stream_seed=None, batch_size=None):
    """The pipelines (zoo.data.Data) of `config.data` as the run's flags read it; `stream_seed` (default: the run's
    seed) seeds shuffling and binarization, while the run's own seed always draws the test part a source without one
    holds out, so that a resumed run tests on the same rows."""
    arrays = sources.load_flags(config, config.seed)
    return data.pipelines(arrays, batch_size or config.batch_size, config.binarization,
                          config.seed if stream_seed is None else stream_seed, config.validation_size,
                          config.train_limit or None, config.train_digits)


def data_arguments(config, dataset=None):
    """The model arguments that follow the data (`dataset`; None: MNIST's shape): its input shape, standardisation for
    a table, resizing inside the endpoints for images the source resized to one size (`--image-size`, or a folder of
    several sizes: the endpoints then take images of any size, as the source did), the number of classes for a model
    whose constructor takes `num_classes` (a DataError if the data has no labels), and each model flag set to auto
    (zoo.config.AUTO_BY_DATA_KIND: for a table's real values a Gaussian
    likelihood and a linear output, for images in [0, 1] a Bernoulli and a sigmoid)."""
    kind = dataset.kind if dataset is not None else "images"
    arguments = {"image_shape": tuple(dataset.input_shape)} if dataset is not None else {}
    if kind == "table":
        arguments["standardize"] = True
    if dataset is not None and dataset.resized and set(zoo.model_class(config.model).ENDPOINTS) & set(
            signatures.INPUT_ENDPOINTS):  # a generator takes no images to resize
        arguments["resize_inputs"] = True
    if dataset is not None and "num_classes" in constructor_parameters(zoo.model_class(config.model)):
        sources.require_labels(dataset.has_labels, dataset.spec, config.model)
        arguments["num_classes"] = len(dataset.class_names)
    model_flags = flags.model_kwargs(config)
    arguments.update({name: by_kind[kind] for name, by_kind in AUTO_BY_DATA_KIND.items()
                      if model_flags.get(name) == "auto"})
    return arguments


def speed_settings(config, strategy, dataset, steps_per_epoch):
    """What --xla and --precision become on this machine (zoo.speed.choose): {"xla", "precision", "how", ...}."""
    def build(xla, precision):
        return build_model(config, strategy, steps_per_epoch, xla, speed.TIMED_STEPS, data_arguments(config, dataset))

    # The network's flags, not its seed: the same network at another seed runs at the same speed.
    settings = flags.settings_dict(config)
    network = {name: settings[name] for name in ("model", *flags.model_kwargs(config))}
    if tuple(dataset.input_shape) != IMAGE_SHAPE:  # MNIST's keys stay as they were, so that their entries stay valid
        network["input_shape"] = list(dataset.input_shape)
    return speed.choose(config.xla, config.precision, has_gpu=bool(tf.config.list_physical_devices("GPU")),
                        replicas=strategy.num_replicas_in_sync, model_config=network,
                        batch_size=config.batch_size, build=build,
                        batches=timing_batches(dataset.train.element_spec), multi_worker=is_multi_worker(strategy))


def _stream_seed(seed, epochs_done):
    """Seed of the data and noise streams: the run's seed, then a fresh one after each resume."""
    return seed if epochs_done == 0 else (seed * 1_000_003 + epochs_done) % 2**31


# The only weights files a checkpoint may name: what the core writes (.keras), or wrote before (.weights.h5).
WEIGHTS_FILE = re.compile(r"epoch-\d{4,}\.(keras|weights\.h5)")
# The longest a checkpointed epoch may have taken: a checkpoint saying more is not one this zoo wrote.
MAX_EPOCH_SECONDS = 1e6
MAX_CHECKPOINT_EPOCHS = 1_000_000  # far above --epochs' bound (zoo.flags.EPOCHS), which an extended run may pass


def checkpoint_fields(done):
    """{field: (schema, what it must be)} of checkpoint.json's lists and records for a run of `done` epochs: a time
    (in (0, MAX_EPOCH_SECONDS] seconds) and a history entry (its epoch and finite logs) for each epoch, in order."""
    seconds = Number(1e-9, MAX_EPOCH_SECONDS)
    each = f"each in (0, {MAX_EPOCH_SECONDS:g}] seconds"
    speed_choice = Record({"xla": bool, "precision": set(PRECISIONS), "how": str}, others=object)
    return {"epoch_seconds": (ListOf(seconds, done, done), f"a list of one time per epoch done ({done}), {each}"),
            "steady_epoch_seconds": (ListOf(seconds, 0, done),
                                     f"a list of at most one time per epoch done ({done}), {each}"),
            "history": (ListOf(Record({"epoch": Number(1, done, integer=True)}, others=Number()), done, done),
                        f"a list of one object per epoch done ({done}): its epoch and finite numbers"),
            "speed_settings": (speed_choice, "an object of xla (true or false), precision (one of "
                                             f"{', '.join(PRECISIONS)}) and how")}


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves weights and optimizer state after every finite epoch; `restore` resumes from the last one.

    Each epoch's weights go to a new file, and checkpoint.json, replaced atomically, names the current
    one, so an interruption at any moment leaves a consistent pair. An epoch whose logs hold a
    non-finite value is not saved, so a NaN never replaces the last good checkpoint. The state also
    records the run's defining flags (resuming with others is refused) and the training time.
    An `extendable` run may be resumed with more epochs than it was started with (see `train`).
    """

    def __init__(self, run_dir, images_per_epoch, run_config, extendable=False, restore_from=None):
        super().__init__()
        self.extendable = extendable
        self.run_dir = Path(run_dir)
        self.restore_from = Path(restore_from or run_dir)  # a non-chief worker resumes from the chief's run dir
        self.state_path = self.run_dir / "checkpoint.json"
        self.images_per_epoch = images_per_epoch
        self.run_config = json.loads(json.dumps(run_config))
        self.state = {"epochs_done": 0, "weights_file": None, "train_seconds": 0.0, "epoch_seconds": [],
                      "steady_epoch_seconds": [], "history": [], "run_config": self.run_config}
        self.diverged_at = self.failure = None

    @staticmethod
    def read_state(run_dir):
        """The checked contents of <run_dir>/checkpoint.json, or None if there is none. The file is untrusted
        input: its weights file must be a name this class writes (epoch-NNNN.keras, in the run dir), and
        every field must have its type and range (`checkpoint_fields`: no time of an epoch a string, negative or
        1e308 s); a ZooError naming the file and the field otherwise."""
        path = Path(run_dir) / "checkpoint.json"
        if not present(path):
            return None
        try:
            state = read_json(path)
        except ValueError as error:
            raise ZooError(f"{path}: cannot be read as a checkpoint ({error}); move the run dir away to start afresh")

        def fault(field, allowed, found=None):
            found = found or f"{state.get(field) if isinstance(state, dict) else state!r:.200}"
            return ZooError(f"{path}: {field} must be {allowed}; found {found}. This is not a checkpoint this zoo "
                            "wrote: move the run dir away to start afresh")

        if not isinstance(state, dict):
            raise fault("the file", "a JSON object")
        if files_fault(state.get("epochs_done"), Number(0, MAX_CHECKPOINT_EPOCHS, integer=True)):
            raise fault("epochs_done", f"an integer in [0, {MAX_CHECKPOINT_EPOCHS}]")
        weights_file = state.get("weights_file")
        if not (weights_file is None or (isinstance(weights_file, str) and WEIGHTS_FILE.fullmatch(weights_file))):
            raise fault("weights_file", "a file name of the form epoch-NNNN.keras (no directory)")
        if (weights_file is None) != (state["epochs_done"] == 0):
            raise fault("weights_file", f"set exactly when epochs are done ({state['epochs_done']})")
        if not isinstance(state.get("run_config"), dict):
            raise fault("run_config", "an object")
        for field in ("epoch_seconds", "steady_epoch_seconds", "history"):
            if not isinstance(state.get(field), list):
                raise fault(field, "a list")
        done = state["epochs_done"]
        if not (isinstance(state.get("train_seconds"), (int, float)) and math.isfinite(state["train_seconds"])
                and 0 <= state["train_seconds"] <= done * MAX_EPOCH_SECONDS):
            raise fault("train_seconds", f"a finite number of seconds in [0, {done} epochs x {MAX_EPOCH_SECONDS:g}]")
        for field, (schema, allowed) in checkpoint_fields(done).items():
            why = field in state and files_fault(state[field], schema)
            if why:
                raise fault(field, allowed, why)
        if [entry["epoch"] for entry in state["history"]] != list(range(1, done + 1)):
            raise fault("history", f"the epochs 1..{done} in order")
        return state

    @staticmethod
    def epochs_done(run_dir):
        state = EpochCheckpoint.read_state(run_dir)
        return state["epochs_done"] if state else 0

    @property
    def weights_path(self):
        return self.run_dir / self.state["weights_file"] if self.state["weights_file"] else None

    def restore(self, model):
        """Loads the last checkpoint into the compiled `model`; returns the number of epochs it holds."""
        state = self.read_state(self.restore_from)
        if state is None:
            return 0
        # A run from before a flag or a model argument existed was trained with its default (where it is declared).
        saved = {**run_flags(TrainConfig()), **constructor_defaults(model, self.run_config), **state["run_config"]}
        mismatch = settings_mismatch(saved, self.run_config, ("epochs",) if self.extendable else ())
        if mismatch:
            raise ZooError(f"{self.restore_from} holds a run with other settings {mismatch}; "
                           "rerun with the same flags to resume, or pass another --run-dir")
        if state["epochs_done"] > self.run_config["epochs"]:
            raise ZooError(f"{self.restore_from} holds {state['epochs_done']} epochs, more than the "
                           f"{self.run_config['epochs']} asked for")
        state["run_config"] = self.run_config
        self.state = state
        model.build_optimizers()
        weights = self.restore_from / state["weights_file"]
        afresh = f"move {self.restore_from} away (or pass another --run-dir) to start afresh"
        if not weights.is_file():
            raise ZooError(f"{weights}: the weights of epoch {state['epochs_done']} that "
                           f"{self.restore_from / 'checkpoint.json'} names are missing; {afresh}")
        try:
            model.load_weights(weights)
        except Exception as error:  # a truncated or foreign file: whatever Keras, zipfile or h5py raise
            raise ZooError(f"{weights}: cannot be loaded as the weights of epoch {state['epochs_done']} "
                           f"({in_one_line(error)}); {afresh}") from None
        return state["epochs_done"]

    def on_train_begin(self, logs=None):
        self._first_epoch_of_session = True

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start, self._train_end = time.perf_counter(), None

    def on_test_begin(self, logs=None):
        if self._train_end is None:
            self._train_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = (self._train_end or time.perf_counter()) - self._epoch_start
        logs = {k: float(v) for k, v in (logs or {}).items()}
        finite = all(math.isfinite(v) for v in logs.values())
        failure = "a loss became non-finite" if not finite else self.model.failure(logs)
        if failure:
            self.diverged_at, self.failure = epoch + 1, failure
            self.model.stop_training = True
            return
        previous, kept = self.weights_path, self.kept_message()
        weights_file = f"epoch-{epoch + 1:04d}.keras"
        with replaced_atomically(self.run_dir / weights_file, kept) as staging:
            # A .keras archive: Keras builds its HDF5 part in memory and Python writes the zip, so a full disk is an
            # OSError here. h5py writing a .weights.h5 straight to a full disk crashed the process (exit 139).
            self.model.save(staging)
        self.state.update(epochs_done=epoch + 1, weights_file=weights_file,
                          train_seconds=self.state["train_seconds"] + seconds)
        self.state["epoch_seconds"].append(seconds)
        if not self._first_epoch_of_session:  # the first epoch of each session includes compilation
            self.state["steady_epoch_seconds"].append(seconds)
        self._first_epoch_of_session = False
        self.state["history"].append({"epoch": epoch + 1, **logs})
        atomic_write_text(self.state_path, json.dumps(self.state, indent=1), kept)
        if previous is not None and previous.name != weights_file:
            previous.unlink(missing_ok=True)

    def kept_message(self):
        """What a failed write of the next checkpoint leaves intact, for its error message."""
        if self.weights_path is None:
            return "no epoch had been checkpointed yet"
        return (f"the checkpoint of epoch {self.state['epochs_done']} ({self.weights_path}) is kept: free some space "
                "and rerun the same command to resume")

    def throughput(self):
        """Training images per second, over the epochs that did not compile (all epochs if none)."""
        seconds = self.state["steady_epoch_seconds"] or self.state["epoch_seconds"]  # each > 0: read_state checks
        return self.images_per_epoch * len(seconds) / sum(seconds) if seconds else float("nan")


def build_model(config, strategy, steps_per_epoch, jit_compile, execution_steps=1, data_args=None):
    """The configured registered model (with `data_args`, `data_arguments` of its data), compiled with Adam (and the schedule) under `strategy`, running
    `execution_steps` training steps per call of its compiled train function (one under a mirrored strategy: Keras's
    loop of several steps per call fails on a distributed iterator, "You must feed a value for placeholder tensor
    ... multi_step_on_iterator", Keras 3.15 with TF 2.21, under MirroredStrategy and MultiWorkerMirroredStrategy)."""
    if isinstance(strategy, (tf.distribute.MirroredStrategy, tf.distribute.MultiWorkerMirroredStrategy)):
        execution_steps = 1
    with strategy.scope():
        data_args = data_arguments(config) if data_args is None else data_args
        try:
            model = zoo.get(config.model, seed=config.seed, **{**flags.model_kwargs(config), **data_args})
        except ValueError as error:  # a model's constructor names the argument it refuses, e.g. the data's shape
            raise ZooError(f"{config.model} cannot be built for --data {config.data}: {error}") from None
        learning_rate = config.learning_rate
        if config.lr_schedule == "cosine":
            learning_rate = keras.optimizers.schedules.CosineDecay(
                config.learning_rate, decay_steps=config.epochs * steps_per_epoch, alpha=0.05)
        model.compile(**model.training_optimizers(learning_rate), jit_compile=jit_compile,
                      steps_per_execution=execution_steps)
    return model


def constructor_parameters(model_class):
    """{name: inspect.Parameter} of the constructor arguments of `model_class`. A variant passes its base's arguments
    on through **kwargs, so every class of the hierarchy is read, the most derived last."""
    parameters = {}
    for cls in reversed(model_class.__mro__):
        if "__init__" in vars(cls):
            parameters.update(inspect.signature(vars(cls)["__init__"]).parameters)
    return parameters


def constructor_defaults(model, keys):
    """The defaults of the model's constructor arguments among `keys`, as they read back from JSON."""
    defaults = {name: parameter.default for name, parameter in constructor_parameters(type(model)).items()
                if name in keys and parameter.default is not inspect.Parameter.empty}
    return json.loads(json.dumps(defaults))


def run_flags(config):
    """The RUN_DEFINING_FLAGS of `config`'s serialised settings (zoo.flags.settings_dict), the binarization as it ran
    (auto resolved: zoo.config.resolved_binarization)."""
    settings = {k: v for k, v in flags.settings_dict(config).items() if k in RUN_DEFINING_FLAGS}
    settings["binarization"] = resolved_binarization(config.binarization, config.data)
    return settings


def run_config(model, config, data_fingerprint):
    """What defines a run: the model's constructor arguments (but its `serving_options`), RUN_DEFINING_FLAGS and the
    data it trains on."""
    trained = {k: v for k, v in model.constructor_config().items() if k not in model.serving_options}
    return {**trained, **run_flags(config), "data": data_fingerprint}


def load_trained(config):
    """The configured model with the weights of the last checkpoint in `config.run_dir`."""
    dataset = dataset_of(config)
    model = build_model(config, tf.distribute.get_strategy(), 1, jit_compile=False,
                        data_args=data_arguments(config, dataset))
    if not EpochCheckpoint(config.run_dir, 0, run_config(model, config, dataset.fingerprint)).restore(model):
        raise ZooError(f"{config.run_dir} holds no checkpoint")
    return model


def profiled_steps(config):
    """The TensorBoard callback's `profile_batch` for `--profile-steps A,B` (0: no trace)."""
    return flags.steps_of(config.profile_steps) or 0


def train(config, strategy=None, verbose=None, callbacks=()):
    """Trains (or resumes) the configured model in `config.run_dir`; returns (model, dataset, checkpoint).

    `callbacks` are Keras callbacks added to the core's own (e.g. the pipeline's per-epoch pictures).

    A finished run with a constant learning rate may later be continued with a larger `config.epochs`, since then the
    number of epochs only says when to stop (tuning.search's Hyperband extends its trials so); with the cosine
    schedule, whose decay depends on it, another `config.epochs` is refused.

    Raises TrainingDiverged if a loss became non-finite or the model reported a failure (`model.failure`,
    e.g. a GAN's discriminator winning outright); the last good checkpoint is kept. Raises
    ZooError if the run dir holds a run with other settings.
    """
    if strategy is None:
        strategy = current_strategy(config)
    run_dir = Path(config.run_dir)
    # Only the chief writes the run dir; other workers write their checkpoints and logs to a directory of their
    # own that is removed afterwards (TensorFlow's multi-worker guide), and resume from the chief's checkpoint.
    writes_to = run_dir if is_chief(strategy) else worker_dir()
    owned_dir(writes_to, RUN_DIR)  # new, empty or the zoo's; locked for this process
    remove_temporaries(writes_to)  # what writes interrupted by kill -9 left
    # A resumed run continues with fresh shuffling, binarization and noise streams, not epoch 1's again.
    stream_seed = _stream_seed(config.seed, EpochCheckpoint.epochs_done(run_dir))
    dataset = dataset_of(config, stream_seed)
    steps_per_epoch = dataset.train_size // config.batch_size
    settings = speed_settings(config, strategy, dataset, steps_per_epoch)
    print(speed.describe(settings), flush=True)
    keras.mixed_precision.set_global_policy(settings["precision"])
    keras.utils.set_random_seed(config.seed)
    # A profiled run steps one batch per call, so that the trace has the steps asked for, each on its own.
    execution_steps = 1 if profiled_steps(config) else steps_per_execution(steps_per_epoch)
    model = build_model(config, strategy, steps_per_epoch, settings["xla"], execution_steps,
                        data_arguments(config, dataset))
    checkpoint = EpochCheckpoint(writes_to, steps_per_epoch * config.batch_size,
                                 run_config(model, config, dataset.fingerprint),
                                 extendable=config.lr_schedule == "constant", restore_from=run_dir)
    with strategy.scope():
        initial_epoch = checkpoint.restore(model)
        model.seed_generator.state.assign(tf.constant([stream_seed, 0], model.seed_generator.state.dtype))
    if is_multi_worker(strategy):
        check_workers_agree(strategy, initial_epoch, run_dir)
    if not initial_epoch:  # data statistics a fresh model starts from
        model.adapt(dataset.train)
    if initial_epoch:
        print(f"resuming {run_dir} after epoch {initial_epoch} of {config.epochs}")
    if initial_epoch < config.epochs:
        checkpoint.state["speed_settings"] = settings
        if strategy.num_replicas_in_sync > 1:  # an evaluation batch: drawing a training one would move its streams
            model.example_batch = next(iter(dataset.validation or dataset.test))
        fit = model.fit if not is_multi_worker(strategy) else worker_loss_reported(model.fit, checkpoint)
        fit(
            sharded(dataset.train.repeat(), strategy),  # one iterator for the run: one per epoch stalled epochs
            steps_per_epoch=steps_per_epoch,
            validation_data=sharded(dataset.validation or dataset.test, strategy),
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            shuffle=False,  # the pipeline shuffles
            callbacks=[checkpoint, keras.callbacks.TerminateOnNaN(),
                       keras.callbacks.TensorBoard(str(writes_to / "logs"), profile_batch=profiled_steps(config)),
                       *(callbacks if writes_to == run_dir else ())],
            verbose=verbose if verbose is not None else (1 if sys.stdout.isatty() else 2),
        )
        if checkpoint.diverged_at is not None:
            kept = (f"{checkpoint.weights_path} still holds epoch {checkpoint.state['epochs_done']}"
                    if checkpoint.weights_path else "no epoch was saved")
            raise TrainingDiverged(f"{checkpoint.failure} in epoch {checkpoint.diverged_at}; training stopped and "
                                   f"{kept}. Try a lower --learning-rate.")
    if writes_to != run_dir:
        shutil.rmtree(writes_to, ignore_errors=True)
    return model, dataset, checkpoint


def train_arrays(model, inputs, epochs, batch_size=100, learning_rate=1e-3, seed=0, verbose=0, callbacks=(),
                 validation=None):
    """Fits a zoo model on in-memory arrays (`inputs`: an array, or a tuple such as (images, labels)) with
    the core's choices: the model's optimizers, shuffled batches of one size, `adapt` first, XLA with a
    GPU, a stop on a non-finite loss. For short runs that need no run directory (a pretraining layer, a
    fine-tuning run); returns the Keras History. Raises TrainingDiverged if a loss became non-finite.
    `validation`: arrays the model's test step measures after every epoch (Keras's val_ metrics), or None.

    Trains under the strategy whose scope the caller is in (`zoo.distribute.recipe_strategy`), where `model` must have
    been made; each worker of a multi-worker run takes its share of every batch."""
    keras.utils.set_random_seed(seed)
    strategy = tf.distribute.get_strategy()
    count = len(tf.nest.flatten(inputs)[0])
    batch = min(batch_size, count)
    dataset = (tf.data.Dataset.from_tensor_slices(inputs).cache().shuffle(count, seed=seed)
               .batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE))
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    with strategy.scope():
        model.compile(**model.training_optimizers(learning_rate), jit_compile=has_gpu and not is_multi_worker(strategy))
    model.adapt(dataset)
    if strategy.num_replicas_in_sync > 1:  # shapes for Keras's build (ZooModel._maybe_symbolic_build)
        model.example_batch = tf.nest.map_structure(lambda array: tf.constant(array[:batch]), inputs)
    validation_data = None if validation is None else tf.data.Dataset.from_tensor_slices(validation).batch(1000)
    history = model.fit(sharded(dataset, strategy), epochs=epochs, shuffle=False, verbose=verbose,
                        validation_data=validation_data, callbacks=[keras.callbacks.TerminateOnNaN(), *callbacks])
    if not all(math.isfinite(values[-1]) for values in history.history.values()):
        raise TrainingDiverged(f"a loss became non-finite while training {model.registry_name}; try a lower "
                               "learning rate")
    return history
