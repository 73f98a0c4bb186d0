"""The publishing pipeline: what a training recipe does around the training core -- train (or resume), then
evaluate on the test split, draw the figures, compute the anomaly threshold, write the card and export.
`publish` is the one function a recipe calls; `refresh` re-exports a committed artifact."""

import dataclasses
import datetime
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

import zoo
from zoo import anomaly, distribute, export, flags, latent, metrics, plots, registry, training
from zoo.batching import apply_in_batches
from zoo.config import BINARIZATIONS, TrainConfig, resolved_binarization
from zoo.errors import ZooError
from zoo.files import ListOf, MapOf, Number, Record, ResultStore, atomic_write_text, fingerprint
from zoo.files import fault as files_fault
from zoo.files import RUN_DIR, claim_export_dir, git_commit, owned_dir, present, read_json, settings_mismatch
from zoo.signatures import INPUT_ENDPOINTS, RESIZE_METHOD

# Normal images the anomaly threshold is set on when no validation split was held out: the last ones of the
# training split.
THRESHOLD_TRAINING_IMAGES = 10000


def evaluate(model, dataset, checkpoint, config):
    """Test metrics: the tracked losses in nats per image, the model's own measures, time and throughput."""
    tracked = model.evaluate(dataset.test, return_dict=True, verbose=0)
    results = {model.test_metric_name(name): float(value) for name, value in tracked.items()}
    results.update(metrics.test_metrics(model, dataset.test_images, dataset.test_labels, tracked, config.eval_samples,
                                        config.batch_size))
    results.update(
        epochs=checkpoint.state["epochs_done"],
        train_seconds=round(checkpoint.state["train_seconds"], 1),
        throughput_images_per_s=round(checkpoint.throughput(), 1),
        parameters=int(model.count_params()),
    )
    return results


# What each test measure may be, by its name (any other: a finite number): counts are integers >= 0, errors,
# distances, times and -log p(x) of images in [0, 1] are >= 0, accuracies and sigmoid activations in [0, 1].
COUNT_MEASURES = ("parameters", "epochs", "nll_importance_samples", "best_epoch", "jacobian_norm_images",
                  "test_active_units_")
NON_NEGATIVE_MEASURES = ("_seconds", "_per_s", "_nll_nats", "_squared_error", "_bce_nats", "_norm",
                         "frechet_distance")


def measure_schema(name):
    """The schema (zoo.files.fault) of the test measure `name`."""
    if name.startswith(COUNT_MEASURES):
        return Number(0, integer=True)
    if name.endswith(("accuracy", "_mean_activation")):
        return Number(0, 1)
    return Number(0) if name.endswith(NON_NEGATIVE_MEASURES) else Number()


def weights_fingerprint(model):
    """A short SHA-256 of the model's weights (their shapes, dtypes and values): the same on every worker of a run and
    on every rerun that restores the same checkpoint, whatever file they came from."""
    digest = hashlib.sha256()
    for array in model.get_weights():
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode() + array.tobytes())
    return digest.hexdigest()[:16]


def trained_settings(checkpoint, model):
    """What a result computed from a trained `model` depends on besides its own settings: the run's whole definition
    (`training.run_config`: model arguments, run-defining flags, data), its epochs, the model's weights
    (`weights_fingerprint`) and the versions of the libraries that compute it. Key a stored result by these and its
    own settings."""
    return {**checkpoint.state["run_config"], "epochs_done": checkpoint.state["epochs_done"],
            "weights": weights_fingerprint(model), "tensorflow": tf.__version__, "keras": keras.__version__,
            "tensorflow_probability": tfp.__version__}


def evaluation_store(run_dir, model, config, checkpoint, best):
    """The ResultStore of the test evaluation of `model` (<run dir>/evaluation.json): reused only for the same
    `trained_settings` and evaluation settings, and only if its measures have their types and ranges
    (`measure_schema`) and agree with the model and the checkpoint; recomputed otherwise, with a line saying why."""
    own = {"parameters": int(model.count_params()), "epochs": checkpoint.state["epochs_done"],
           "nll_importance_samples": config.eval_samples}

    def fault(key, measured):
        why = MapOf(schema_of=measure_schema).fault(measured)
        disagree = [f"{name}={measured[name]} there, {value} now" for name, value in own.items()
                    if not why and name in measured and measured[name] != value]
        return why or ("; ".join(disagree) or None)

    settings = {**trained_settings(checkpoint, model), "eval_samples": config.eval_samples,
                "best": list(best) if best else None}
    return ResultStore(Path(run_dir) / "evaluation.json", settings, settings["data"], other_settings="recompute",
                       validate=fault)


def normal_training_images(dataset, train_digits=()):
    """(inputs, description) of normal inputs from the training split (never the test split) that the anomaly
    threshold is set on: the validation inputs held out from training if there are any, else the last
    THRESHOLD_TRAINING_IMAGES training inputs, which the model trained on (the description says so). MNIST's are
    described as before: images of digits."""
    mnist = dataset.spec == "mnist"
    unit = "rows" if dataset.kind == "table" else "images"
    if not train_digits:
        classes = ""
    elif mnist or not dataset.class_names:
        classes = f" of digits {list(train_digits)}" if mnist else f" of classes {list(train_digits)}"
    else:
        classes = f" of class {', '.join(dataset.class_names[index] for index in train_digits)}"
    if dataset.validation_images is not None:
        return (dataset.validation_images,
                f"the {len(dataset.validation_images)} validation {unit}{classes} held out from the training split")
    images = dataset.fixed_training_images(min(THRESHOLD_TRAINING_IMAGES, dataset.train_size))
    what = "MNIST training images" if mnist else f"training {unit}"
    return images, (f"the last {len(images)} {what}{classes}, which the model also trained on (no validation "
                    f"split was held out): unseen normal {unit} score a little higher, so expect more than the "
                    "target rate of them above the threshold")


def anomaly_entry(model, dataset, train_digits=()):
    """The card's "anomaly" entry for a model with a `score` endpoint (else None)."""
    if "score" not in model.ENDPOINTS:
        return None
    return anomaly.card_entry(model, *normal_training_images(dataset, train_digits))


def card(model, config, measured, dataset, command, speed_settings=None):
    """The artifact's card: what it is, its data (`data_entry`), flags, measured metrics with their command,
    versions."""
    doc = (type(model).__doc__ or "").strip().splitlines()
    return {
        "model": model.registry_name,
        "description": doc[0] if doc else "",
        **code_entry(model),
        "model_config": model.constructor_config(),
        "data": data_entry(config, dataset, model),
        "flags": {k: v for k, v in flags.settings_dict(config).items() if k != "data_dir"},
        "command": command,
        "metrics": {name: {"value": value, "command": command} for name, value in measured.items()},
        "parameters": int(model.count_params()),
        "training_speed": speed_settings,
        "endpoints": sorted(model.ENDPOINTS),
        **latent_entry(model, dataset),
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "tensorflow_probability": tfp.__version__},
        "git_commit": git_commit(),
        "exported": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def data_entry(config, dataset, model):
    """The card's "data": the source, its fingerprint, the input shape, the preprocessing the endpoints of `model`
    apply to what a program sends, the binarization and the parts trained and tested on."""
    mnist = dataset.spec == "mnist"
    from_tfds = dataset.fingerprint == "tensorflow-datasets:mnist"
    entry = {
        "dataset": "MNIST" if mnist else dataset.spec,
        # no path of the machine that trained it
        "source": ("tensorflow-datasets:mnist" if from_tfds else "MNIST IDX files") if mnist else dataset.source,
        "fingerprint": dataset.fingerprint,
        "kind": dataset.kind,
        "input_shape": list(dataset.input_shape),
    }
    if dataset.kind == "table":
        entry["preprocessing"] = (f"the endpoints take raw rows of {dataset.input_shape[0]} columns and standardise them "
                                  "with the mean and scale of the training rows (held in the model)")
        entry["columns"] = list(dataset.columns or ())
    elif not set(model.ENDPOINTS) & set(INPUT_ENDPOINTS):
        shape = ", ".join(map(str, dataset.input_shape))
        entry["preprocessing"] = f"the endpoints take no images; they give images [{shape}] with values in [0, 1]"
    elif model.resize_inputs:
        height, width, channels = dataset.input_shape
        entry["preprocessing"] = (f"the endpoints take images [batch, height, width, {channels}] of any size with "
                                  f"values in [0, 1] and resize them to {height}x{width} ({RESIZE_METHOD}) inside, as "
                                  "the training images were")
    else:
        entry["preprocessing"] = (f"the endpoints take images [batch, {', '.join(map(str, dataset.input_shape))}] "
                                  "with values in [0, 1], at this size")
    if dataset.kind != "table":
        binarization = resolved_binarization(config.binarization, dataset.spec)
        entry["training_binarization"] = binarization
        entry["test_binarization"] = "binarized once with a fixed seed" if binarization == "dynamic" else binarization
    if dataset.class_names:
        entry["class_names"] = list(dataset.class_names)
    entry["test_part"] = dataset.test_part
    entry["train_limit"] = config.train_limit or ("all 60000 training images" if mnist else "all training inputs")
    return entry


def code_entry(model):
    """The card's "code" entry where the model says what its endpoints' code is (what a slider over it moves)."""
    description = getattr(model, "code_description", None)
    return {"code": {"size": model.code_size, "what": description}} if description else {}


def latent_entry(model, dataset):
    """The card's "latent" entry (zoo.latent: the page's latent directions, which the server reads from the card)
    where the model has one, on the first test inputs of `dataset` before binarization."""
    entry = latent.card_entry(model, dataset.raw_test_inputs[:latent.LATENT_IMAGES])
    return {"latent": entry} if entry else {}


# <run dir>/frechet.json: the settings the curve was measured under and its points.
FRECHET_POINT = Record({"epoch": Number(1, integer=True), "minutes": Number(0), "frechet_distance": Number(0),
                        "best": {True}}, optional=("best",))
FRECHET_FILE = Record({"settings": dict, "curve": ListOf(FRECHET_POINT)})


def frechet_settings(run_config, classifier_dir, samples):
    """What a run's Fréchet curve depends on: the run's definition (but its epochs, which an extended run changes),
    the classifier's files and the number of samples."""
    classifier = sorted(path for path in Path(classifier_dir).rglob("*") if path.is_file())
    return {**{k: v for k, v in run_config.items() if k != "epochs"}, "frechet_samples": samples,
            "frechet_classifier": fingerprint(classifier)}


def read_frechet(run_dir):
    """(settings, curve) of <run dir>/frechet.json, checked (FRECHET_FILE); a ValueError says why it is not one."""
    saved = read_json(Path(run_dir) / "frechet.json")
    why = files_fault(saved, FRECHET_FILE)
    if why:
        raise ValueError(why)
    return saved["settings"], saved["curve"]


def kept_curve(run_dir, settings, epochs_done):
    """(curve, why not) for the Fréchet curve in `run_dir` of a run with `settings` (frechet_settings) whose checkpoint
    holds `epochs_done` epochs: ([], None) without one; ([], why) if it is damaged, of other settings, beyond the
    checkpoint, or its best point's weights (best.weights.h5) are missing; else (its points, None)."""
    if not present(Path(run_dir) / "frechet.json"):
        return [], None
    try:
        saved, curve = read_frechet(run_dir)
    except ValueError as error:
        return [], str(error)
    mismatch = settings_mismatch(saved, settings)
    if mismatch:
        return [], f"measured under other settings {mismatch}"
    if [point["epoch"] for point in curve] != sorted({point["epoch"] for point in curve}) or any(
            point["epoch"] > epochs_done for point in curve):
        return [], f"its epochs are not increasing up to the checkpoint's {epochs_done}"
    if curve and not (min(curve, key=lambda point: point["frechet_distance"]).get("best")
                      and (Path(run_dir) / "best.weights.h5").is_file()):
        return [], "the weights of its best point (best.weights.h5) are missing"
    return curve, None


class FrechetCheckpoint(keras.callbacks.Callback):
    """Every `every` epochs (and after the last): the Fréchet distance of `samples` generated images to held-out
    training images on the features of a classifier artifact; the curve goes to <run dir>/frechet.json (kept across
    resumed runs, with the settings it was measured under) and figures/frechet_curve.png, and the weights of the best
    point so far to best.weights.h5 (written through a temporary file). A kept curve that a resumed run cannot
    continue (`kept_curve`: of other settings, of a run whose checkpoint is gone, damaged) is discarded with its best
    weights, with a line saying why. Selection never looks at the test split."""

    def __init__(self, run_dir, classifier_dir, held_out_images, every, epochs, samples=5000):
        super().__init__()
        self.run_dir, self.every, self.epochs, self.samples = Path(run_dir), every, epochs, samples
        self.classifier_dir = classifier_dir
        self.classifier = zoo.load_artifact(classifier_dir, {"classify"})  # kept: its functions use its variables
        self.reference, _ = metrics.classifier_outputs(self.classifier.classify, held_out_images)
        self.curve_path, self.best_path = self.run_dir / "frechet.json", self.run_dir / "best.weights.h5"
        self.curve = []

    def settings(self):
        """The curve's settings (frechet_settings) of the run whose checkpoint is in the run dir, and its epochs."""
        state = training.EpochCheckpoint.read_state(self.run_dir) or {"run_config": {}, "epochs_done": 0}
        return frechet_settings(state["run_config"], self.classifier_dir, self.samples), state["epochs_done"]

    def on_train_begin(self, logs=None):
        settings, done = self.settings()
        self.curve, why = kept_curve(self.run_dir, settings, done) if done else ([], "a fresh run")
        if why and present(self.curve_path):
            print(f"{self.curve_path}: not continued ({why}); the best checkpoint is chosen among this run's epochs "
                  "from now on", flush=True)
            self.curve_path.unlink()
            self.best_path.unlink(missing_ok=True)
        self.started, self.minutes_before = time.monotonic(), self.curve[-1]["minutes"] if self.curve else 0.0

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every and done != self.epochs:
            return
        codes = tf.random.stateless_normal([self.samples, self.model.latent_dim], seed=[0, 11])
        images = apply_in_batches(self.model.generate, codes.numpy(), 500)
        features, _ = metrics.classifier_outputs(self.classifier.classify, images)
        distance = metrics.frechet_distance(features, self.reference)
        point = {"epoch": done, "minutes": round(self.minutes_before + (time.monotonic() - self.started) / 60, 2),
                 "frechet_distance": distance}
        self.curve = [p for p in self.curve if p["epoch"] < done]
        if not self.curve or distance < min(p["frechet_distance"] for p in self.curve):
            staging = self.best_path.with_suffix(".tmp.weights.h5")
            self.model.save_weights(staging)
            os.replace(staging, self.best_path)
            point["best"] = True
        self.curve.append(point)
        atomic_write_text(self.curve_path, json.dumps({"settings": self.settings()[0], "curve": self.curve}, indent=1))
        plots.frechet_curve(self.curve, self.run_dir / "figures" / "frechet_curve.png",
                            "distance of generated to held-out training images")
        print(f"\nepoch {done}: Fréchet distance to held-out training images {distance:.2f}", flush=True)


def best_by_frechet(config, checkpoint):
    """(epoch, distance) of the best point of the run's Fréchet curve, or None without one. A curve that is not the
    run's (`kept_curve`) is refused in one line: the weights it chose among are gone, so it cannot be measured again."""
    settings = frechet_settings(checkpoint.state["run_config"], config.frechet_classifier, config.frechet_samples)
    curve, why = kept_curve(config.run_dir, settings, checkpoint.state["epochs_done"])
    if why:
        raise ZooError(f"{Path(config.run_dir) / 'frechet.json'}: {why}, so the best checkpoint by Fréchet distance "
                       "cannot be chosen; rerun with --frechet-every 0 to publish the last epoch, or in a fresh "
                       "--run-dir")
    if not curve:
        return None
    best = min(curve, key=lambda point: point["frechet_distance"])
    return best["epoch"], best["frechet_distance"]


def progress_callbacks(config):
    """Per-epoch pictures for generators: a grid from fixed codes in <run dir>/figures/progress/; with
    `config.frechet_every` > 0 and a validation split, the FrechetCheckpoint."""
    if "generate" not in registry.get_class(config.model).ENDPOINTS:
        return []
    callbacks = [plots.GeneratorProgress(Path(config.run_dir) / "figures" / "progress")]
    if config.frechet_every:
        if not config.validation_size:
            raise ZooError("choosing the best checkpoint by Fréchet distance needs held-out training images: pass "
                           f"--validation-size > 0 (received --validation-size={config.validation_size}) or "
                           "--frechet-every 0")
        held_out = training.dataset_of(dataclasses.replace(config, train_limit=0, train_digits=())).validation_images
        callbacks.append(FrechetCheckpoint(config.run_dir, config.frechet_classifier, held_out, config.frechet_every,
                                           config.epochs, config.frechet_samples))
    return callbacks


def publish(config, command=None, card_extra=None):
    """Trains (or resumes), evaluates, writes metrics.json and figures into the run dir, and exports: the whole
    recipe. Returns the test metrics. A run with `--lr-schedule constant` may be continued with a larger --epochs.

    The evaluation is reused by a rerun of the same run definition, weights, k and data (`evaluation_store`).
    `card_extra` adds entries to the artifact's card (e.g. the search a tuned configuration came from).
    """
    zoo.names()  # registers the models
    strategy = distribute.make_strategy(config)
    if config.export_dir and distribute.is_chief(strategy):  # refused before training, not after it
        owned_dir(config.run_dir, RUN_DIR)  # first: the export dir's lock may go inside it
        claim_export_dir(config.export_dir, keep_clear_of=(config.run_dir,))
    model, dataset, checkpoint = training.train(config, strategy, callbacks=progress_callbacks(config))
    if not distribute.is_chief(strategy):
        print("training done; the chief evaluates, draws and exports")
        return None
    best = best_by_frechet(config, checkpoint) if config.frechet_every else None
    if best:
        model.load_weights(Path(config.run_dir) / "best.weights.h5")
        print(f"the best checkpoint by Fréchet distance to held-out training images: epoch {best[0]} ({best[1]:.2f})")
    if keras.mixed_precision.global_policy().name != "float32" or strategy.num_replicas_in_sync > 1:
        # Reported numbers and artifacts are float32, whatever precision trained the weights, and computed on
        # this process alone (the other workers have gone).
        keras.mixed_precision.set_global_policy("float32")
        model = export.float32_copy(model)
        model.compile(jit_compile=False)
    run_dir = Path(config.run_dir)
    store = evaluation_store(run_dir, model, config, checkpoint, best)
    if "test" in store:
        print(f"reusing the evaluation in {store.path}")
    else:
        print("evaluating on the test set ...")
        measured = evaluate(model, dataset, checkpoint, config)
        if best:
            measured.update(best_epoch=best[0], held_out_frechet_distance=best[1])
        store.put("test", measured)
    measured = store["test"]
    atomic_write_text(run_dir / "metrics.json", json.dumps(measured, indent=1))
    for name, value in measured.items():
        print(f"  {name}: {value:.3f}" if isinstance(value, float) else f"  {name}: {value}")
    figures = plots.draw_all(model, dataset, run_dir / "figures", seed=config.seed)
    print(f"wrote {run_dir / 'metrics.json'} and {len(figures)} figures in {run_dir / 'figures'}")
    if config.export_dir:
        artifact_card = card(model, config, measured, dataset, command or flags.command_line(sys.argv[0]),
                             checkpoint.state.get("speed_settings"))
        artifact_card.update(card_extra or {})
        entry = anomaly_entry(model, dataset, config.train_digits)
        if entry:
            artifact_card["anomaly"] = entry
        export.export(model, config.export_dir, artifact_card, figures, keep_clear_of=(config.run_dir,))
        print(f"exported {config.export_dir}")
    return measured


# The flags of a card that refresh reads the training images by (the threshold and figures use them).
REFRESH_FLAGS = ("binarization", "seed", "validation_size", "train_limit", "train_digits")


def card_settings(artifact_card, card_file="card.json"):
    """The training settings (a TrainConfig) that the "flags" of a card this zoo exported hold, however old: a flag
    it lacks has its default (zoo.flags.from_dict), but the binarization, which the card's "data" also records. A
    ZooError naming `card_file` if one of REFRESH_FLAGS holds a value its flag would refuse."""
    recorded = artifact_card.get("data")
    binarization = recorded.get("training_binarization") if isinstance(recorded, dict) else None
    fallback = {"binarization": binarization} if binarization in BINARIZATIONS else {}
    saved = {**fallback, **artifact_card["flags"]}
    for name in REFRESH_FLAGS:
        problem = name in saved and flags.saved_value_problem(TrainConfig, name, saved[name])
        if problem:
            raise ZooError(f"{card_file}: its flags: {problem}")
    return flags.from_dict(TrainConfig, saved)


def refresh(artifact_dir, data_dir=None, command=None):
    """Re-exports a committed artifact from its model.keras with the current endpoints and figures, keeping its
    card (flags, command, measured metrics). The latent directions are computed again (`latent_entry`); the anomaly
    threshold is recomputed (on training images, as `normal_training_images` says) where the model has a `score`
    endpoint; a VAE's active units, where its card lacks them, are measured on the test set with `command`; the
    figures the current code draws are drawn again, the others kept. The weights are unchanged: nothing is
    retrained."""
    artifact_dir = Path(artifact_dir)
    artifact_card = zoo.card(artifact_dir)
    if not all(isinstance(artifact_card.get(entry), dict) for entry in ("flags", "metrics")):
        raise ZooError(f"{artifact_dir / 'card.json'}: no \"flags\" and \"metrics\" objects; only an artifact this zoo "
                       "exported can be re-exported")
    model = zoo.load(artifact_dir / "model.keras")
    saved = card_settings(artifact_card, artifact_dir / "card.json")
    dataset = training.dataset_of(dataclasses.replace(saved, data_dir=data_dir), batch_size=100)
    entry = anomaly_entry(model, dataset, saved.train_digits)
    if entry:
        artifact_card["anomaly"] = entry
    artifact_card["endpoints"] = sorted(model.ENDPOINTS)
    artifact_card.update(code_entry(model))
    artifact_card.pop("latent", None)
    artifact_card.update(latent_entry(model, dataset))
    if model.evaluation == "likelihood" and not any(name.startswith("test_active_units_")
                                                    for name in artifact_card["metrics"]):
        for layer, count in metrics.active_units(model, dataset.test_images, dataset.test_labels).items():
            artifact_card["metrics"][f"test_active_units_{layer}"] = {"value": count, "command": command}
    artifact_card.setdefault("reexports", []).append({
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(), "weights": "unchanged (re-exported from model.keras, not retrained)"})
    with tempfile.TemporaryDirectory() as figures_dir:
        drawn = plots.draw_all(model, dataset, figures_dir, seed=saved.seed)
        kept = [path for path in sorted(artifact_dir.glob("*.png")) if path.name not in {p.name for p in drawn}]
        export.export(model, artifact_dir, artifact_card, [*drawn, *kept])
    written = zoo.load(artifact_dir / "model.keras").get_weights()
    if len(written) != len(model.get_weights()) or not all(
            np.array_equal(a, b) for a, b in zip(written, model.get_weights())):
        raise ZooError(f"{artifact_dir}/model.keras: the re-exported weights differ from the ones loaded")
    return artifact_dir
