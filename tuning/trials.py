"""One trial of a search: its run directory, Hyperband's continuation of an earlier trial, training through
the zoo's training core, the validation metrics it reports, and the log of trial starts and ends.

Imports TensorFlow: `tuning.search` imports this module only once its flags are parsed.
"""

import json
import os
import shutil
import time
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np

from tuning.spaces import PROBE_OBJECTIVE, recipe_config
from zoo import metrics as zoo_metrics
from zoo import training
from zoo.errors import TrainingDiverged, ZooError
from zoo.files import LOCK_FILE, TEMPORARY_PREFIX, atomic_write_text

PROBE_TRAIN_IMAGES = 5000


def trial_dir(search, trial_id):
    """The training run directory of one trial."""
    return Path(search.out) / "trials" / trial_id


def log_event(out, **event):
    """Appends one line to <out>/trial_log.jsonl (trial starts and ends, by which tuner process)."""
    with open(Path(out) / "trial_log.jsonl", "a") as log:
        log.write(json.dumps({"time": round(time.time(), 3), **event}) + "\n")


def continue_trial(search, previous, run_dir, initial_epoch):
    """Starts `run_dir` from a copy of the previous trial's checkpoint (copied aside, then renamed)."""
    source = trial_dir(search, previous)
    if not (source / "checkpoint.json").exists():
        raise ZooError(f"Hyperband continues trial {previous}, but {source} holds no checkpoint")
    tmp = run_dir.with_name(f"{run_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp, ignore=shutil.ignore_patterns("logs", "result.json", "figures", "*.tmp-*",
                                                             f"{TEMPORARY_PREFIX}*", LOCK_FILE))
    epochs_done = training.EpochCheckpoint.epochs_done(tmp)  # checked: a ZooError naming a damaged field
    if epochs_done != initial_epoch:
        raise ZooError(f"Hyperband continues trial {previous} from epoch {initial_epoch}, but it holds {epochs_done}")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.rename(tmp, run_dir)


def train_trial(search, trial, tuner_id):
    """Trains one trial (resuming its checkpoint if it was interrupted) and returns its validation metrics.

    Hyperband's later rounds continue a trial of the previous round: its checkpoint is copied, and the
    training core extends it (trials use a constant learning rate, so more epochs simply continue).
    Writes <run dir>/result.json. Raises kt.errors.FailedTrialError if training diverged (the search goes
    on), kt.errors.FatalError for any other ZooError (every trial would fail alike).
    """
    values = trial.hyperparameters.values
    hyperparameters = {k: v for k, v in values.items() if not k.startswith("tuner/")}
    epochs = values.get("tuner/epochs", search.epochs)
    run_dir = trial_dir(search, trial.trial_id)
    previous = values.get("tuner/trial_id")
    if previous and not (run_dir / "checkpoint.json").exists():
        continue_trial(search, previous, run_dir, values["tuner/initial_epoch"])
    config = recipe_config(search, hyperparameters, epochs=epochs, lr_schedule="constant", run_dir=str(run_dir),
                           export_dir=None)
    log_event(search.out, trial=trial.trial_id, event="start", tuner=tuner_id)
    start = time.perf_counter()
    keras.backend.clear_session()
    try:
        model, dataset, checkpoint = training.train(config, verbose=2)  # constant rate: Hyperband may extend it
    except TrainingDiverged as error:
        raise kt.errors.FailedTrialError(str(error)) from error
    except ZooError as error:  # e.g. a run dir of other settings
        raise kt.errors.FatalError(f"trial {trial.trial_id}: {error}") from error
    metrics = {k: v for k, v in checkpoint.state["history"][-1].items() if k.startswith("val_")}
    if search.objective == PROBE_OBJECTIVE:
        metrics[PROBE_OBJECTIVE] = probe_accuracy(model, dataset)
    result = {"trial": trial.trial_id, "tuner": tuner_id, "hyperparameters": hyperparameters, "epochs": epochs,
              "continued_from": previous, "seconds": round(time.perf_counter() - start, 1), "metrics": metrics}
    atomic_write_text(run_dir / "result.json", json.dumps(result, indent=1))
    return metrics


def probe_accuracy(model, dataset, evaluation="validation"):
    """Accuracy on the `evaluation` split ("validation" or "test") of logistic regression on the codes, fit on
    PROBE_TRAIN_IMAGES training codes."""

    def codes_and_labels(batches, limit=None):
        codes, labels = [], []
        for images, batch_labels in batches:
            codes.append(model.encode(images).numpy())
            labels.append(batch_labels.numpy())
            if limit and sum(map(len, labels)) >= limit:
                break
        return np.concatenate(codes), np.concatenate(labels)

    train_codes, train_labels = codes_and_labels(dataset.train, PROBE_TRAIN_IMAGES)
    codes, labels = codes_and_labels(getattr(dataset, evaluation))
    return zoo_metrics.linear_probe_accuracy(train_codes, train_labels, codes, labels, iterations=200)
