"""The one training core: every recipe and every tuning trial calls `train` (or `run`, which also reports).

It owns the data pipeline, device choice (XLA, mixed precision, distribution strategy), compile,
callbacks (progress bar, TensorBoard, a per-epoch checkpoint that resumes, TerminateOnNaN), the
final evaluation, metrics.json, the figures and the export.
"""

import json
import math
import os
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import zoo
from zoo import cli, data
from zoo.config import TrainConfig, ZooError  # noqa: F401  (TrainConfig is re-exported for recipes)


class TrainingDiverged(ZooError):
    """A loss went non-finite; the last good checkpoint was kept."""


def _use_xla(setting, has_gpu):
    return {"on": True, "off": False, "auto": has_gpu}[setting]


def _policy(setting, has_gpu):
    if setting == "auto":
        return "mixed_float16" if has_gpu else "float32"
    return setting


def _atomic_write_text(path, text):
    tmp = Path(f"{path}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves weights and optimizer state after every finite epoch, atomically; `restore` resumes.

    An epoch whose logs hold a non-finite value is not saved, so a NaN never replaces the last good
    checkpoint. The state file also accumulates training time and images seen across resumes.
    """

    def __init__(self, run_dir, images_per_epoch, model_config):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.weights_path = self.run_dir / "checkpoint.weights.h5"
        self.state_path = self.run_dir / "checkpoint.json"
        self.images_per_epoch = images_per_epoch
        self.model_config = json.loads(json.dumps(model_config))
        self.state = {"epochs_done": 0, "train_seconds": 0.0, "epoch_seconds": [], "history": [],
                      "model_config": self.model_config}
        self.diverged_at = None

    def restore(self, model):
        """Loads the last checkpoint into `model` (compiled) and returns the number of epochs it holds."""
        if not self.state_path.exists():
            return 0
        state = json.loads(self.state_path.read_text())
        saved_config = state.get("model_config", self.model_config)
        if saved_config != self.model_config:
            changed = sorted(k for k in set(saved_config) | set(self.model_config)
                             if saved_config.get(k) != self.model_config.get(k))
            raise ZooError(
                f"{self.run_dir} holds a run of another model ({', '.join(f'{k}={saved_config.get(k)}' for k in changed)}"
                f" there, {', '.join(f'{k}={self.model_config.get(k)}' for k in changed)} now); "
                "pass another --run-dir or delete it")
        self.state = {**state, "model_config": saved_config}
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(self.weights_path)
        return self.state["epochs_done"]

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start, self._train_end = time.perf_counter(), None

    def on_test_begin(self, logs=None):
        if self._train_end is None:
            self._train_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = (self._train_end or time.perf_counter()) - self._epoch_start
        logs = {k: float(v) for k, v in (logs or {}).items()}
        if not all(math.isfinite(v) for v in logs.values()):
            self.diverged_at = epoch + 1
            self.model.stop_training = True
            return
        tmp = self.weights_path.with_name(f"tmp-{os.getpid()}.weights.h5")
        self.model.save_weights(tmp)
        os.replace(tmp, self.weights_path)
        self.state["epochs_done"] = epoch + 1
        self.state["train_seconds"] += seconds
        self.state["epoch_seconds"].append(seconds)
        self.state["history"].append({"epoch": epoch + 1, **logs})
        _atomic_write_text(self.state_path, json.dumps(self.state, indent=1))

    def throughput(self):
        """Images per second over the training epochs, excluding the first (which includes compilation)."""
        seconds = self.state["epoch_seconds"][1:] or self.state["epoch_seconds"]
        return self.images_per_epoch * len(seconds) / sum(seconds) if seconds else float("nan")


def build_model(config, strategy, steps_per_epoch, jit_compile):
    with strategy.scope():
        model = zoo.get(config.model, seed=config.seed, **cli.model_kwargs(config))
        learning_rate = config.learning_rate
        if config.lr_schedule == "cosine":
            learning_rate = keras.optimizers.schedules.CosineDecay(
                config.learning_rate, decay_steps=config.epochs * steps_per_epoch, alpha=0.05)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), jit_compile=jit_compile)
    return model


def train(config, strategy=None, verbose=None):
    """Trains (or resumes) the configured model in `config.run_dir`; returns (model, dataset, checkpoint).

    Raises TrainingDiverged if a loss became non-finite (the last good checkpoint is kept).
    """
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    keras.utils.set_random_seed(config.seed)
    keras.mixed_precision.set_global_policy(_policy(config.precision, has_gpu))
    if strategy is None:
        strategy = (tf.distribute.MirroredStrategy() if len(tf.config.list_physical_devices("GPU")) > 1
                    else tf.distribute.get_strategy())
    dataset = data.mnist(config.batch_size, config.binarization, config.data_dir, config.seed,
                         config.validation_size, config.train_limit or None)
    steps_per_epoch = dataset.train_size // config.batch_size
    model = build_model(config, strategy, steps_per_epoch, _use_xla(config.xla, has_gpu))
    run_dir = Path(config.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    model_config = {k: v for k, v in model.get_config().items() if k not in ("name", "trainable", "dtype")}
    checkpoint = EpochCheckpoint(run_dir, steps_per_epoch * config.batch_size, model_config)
    initial_epoch = checkpoint.restore(model)
    if initial_epoch:
        print(f"resuming {run_dir} after epoch {initial_epoch} of {config.epochs}")
    if initial_epoch < config.epochs:
        model.fit(
            dataset.train,
            validation_data=dataset.validation or dataset.test,
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            callbacks=[checkpoint, keras.callbacks.TerminateOnNaN(),
                       keras.callbacks.TensorBoard(str(run_dir / "logs"))],
            verbose=verbose if verbose is not None else (1 if sys.stdout.isatty() else 2),
        )
        if checkpoint.diverged_at is not None:
            raise TrainingDiverged(
                f"a loss became non-finite in epoch {checkpoint.diverged_at}; training stopped and "
                f"{checkpoint.weights_path} still holds epoch {checkpoint.state['epochs_done']}. "
                "Try a lower --learning-rate.")
    return model, dataset, checkpoint


def evaluate(model, dataset, checkpoint, config):
    """Test metrics: the tracked losses in nats per image, the model's own metrics, time and throughput."""
    tracked = model.evaluate(dataset.test, return_dict=True, verbose=0)
    metrics = {f"test_{name}_nats": float(value) for name, value in tracked.items()}
    metrics.update(model.evaluation_metrics(dataset.test_images, tracked, config.eval_samples, config.batch_size))
    metrics.update(
        epochs=checkpoint.state["epochs_done"],
        train_seconds=round(checkpoint.state["train_seconds"], 1),
        throughput_images_per_s=round(checkpoint.throughput(), 1),
        parameters=int(model.count_params()),
    )
    return metrics


def run(config, command=None):
    """Trains, evaluates, writes metrics.json and figures into the run dir, and exports: the whole recipe."""
    model, dataset, checkpoint = train(config)
    from zoo import export, plots  # imported late: a long run picks up the current code for its last steps

    run_dir = Path(config.run_dir)
    metrics_path = run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    if (metrics.get("epochs"), metrics.get("eval_samples")) != (checkpoint.state["epochs_done"], config.eval_samples):
        print("evaluating on the test set ...")
        metrics = {**evaluate(model, dataset, checkpoint, config), "eval_samples": config.eval_samples}
        _atomic_write_text(metrics_path, json.dumps(metrics, indent=1))
    else:
        print(f"reusing the evaluation in {metrics_path}")
    for name, value in metrics.items():
        print(f"  {name}: {value:.3f}" if isinstance(value, float) else f"  {name}: {value}")
    figures = plots.draw_all(model, dataset, run_dir / "figures", seed=config.seed)
    print(f"wrote {run_dir / 'metrics.json'} and {len(figures)} figures in {run_dir / 'figures'}")
    if config.export_dir:
        card = export.card(model, config, metrics, dataset.source, command or cli.command_line(sys.argv[0]))
        export.export(model, config.export_dir, card, figures)
        print(f"exported {config.export_dir}")
    return metrics
