"""Keras Tuner searches over the zoo's models: `python -m tuning.search --help`.

    python -m tuning.search --model vae --space latent_dim --tuner hyperband --max-trials 30 --epochs 9
    python -m tuning.search --model sparse_ae --space rho --objective val_probe_accuracy --tuner random

Every trial trains through the zoo's one training core (`zoo.training.train`) on the MNIST training
split minus a held-out validation split, with the model's recipe defaults for every flag that is not
searched, and reports a validation metric to the oracle. Rerunning the same command in the same
`--out` resumes the search without repeating finished trials. Afterwards: a table of every trial
(trials.csv, trials.md), a plot of the objective against the space's first hyperparameter, and the
best configuration retrained with the recipe's schedule, evaluated on the test split and exported
(its card names the search), beside the model's default configuration trained the same way.

Distributed (Keras Tuner's chief/worker mode): the same command in every process, sharing `--out`:

    KERASTUNER_TUNER_ID=chief KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000 python -m tuning.search ...
    KERASTUNER_TUNER_ID=tuner0 KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000 python -m tuning.search ...

The chief serves the oracle and, once every trial has ended, writes the results and retrains the best.
"""

import dataclasses
import functools
import importlib
import json
import os
import shutil
import socket
import sys
import time
from pathlib import Path

from zoo import cli, flags
from zoo.flags import flag
from zoo.config import DATA_DIR_ENV
from zoo.errors import ZooError
from zoo.files import atomic_write_text, settings_mismatch

PROG = "python -m tuning.search"
TUNERS = ("hyperband", "random", "bayesian")
PROBE_OBJECTIVE = "val_probe_accuracy"  # computed after training; every other objective is logged by test_step
# Objectives whose direction is fixed; any other logged metric is minimized unless --direction says otherwise.
FIXED_DIRECTIONS = {"val_loss": "min", PROBE_OBJECTIVE: "max"}
PROBE_TRAIN_IMAGES = 5000
# Settings that define a search: rerunning in the same --out with other values is refused.
SEARCH_DEFINING_FLAGS = ("model", "space", "tuner", "epochs", "objective", "direction", "factor", "batch_size",
                         "learning_rate", "seed", "validation_size", "train_limit")
IDLE_WAIT_SECONDS = 2  # a worker waiting for Hyperband's next round asks the chief again after this


def cluster_error():
    """A message if Keras Tuner's chief/worker variables are incomplete, or if this process is the chief
    and cannot bind the oracle's port; else None."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return None
    ip, port = os.environ["KERASTUNER_ORACLE_IP"], os.environ.get("KERASTUNER_ORACLE_PORT", "")
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"KERASTUNER_ORACLE_PORT must be a port number in 1..65535; received {port!r}"
    role = os.environ.get("KERASTUNER_TUNER_ID", "")
    if not role:
        return "KERASTUNER_TUNER_ID must name this process: chief for the chief, tuner0, tuner1, ... for workers"
    if "chief" not in role:
        return None
    with socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET) as probe:
        try:
            probe.bind((ip, int(port)))
        except OSError as error:
            return (f"the chief cannot serve its oracle on {ip}:{port} ({error.strerror}); the port is in use "
                    "or the address is not this machine's: set KERASTUNER_ORACLE_PORT to a free port")
    return None


def recipe_config_class(model):
    """The config dataclass of the recipe `recipes.<model>_mnist`, or None if there is none."""
    try:
        recipe = importlib.import_module(f"recipes.{model}_mnist")
    except ModuleNotFoundError:
        return None
    return getattr(getattr(recipe, "main", None), "config_cls", None)


@functools.cache
def tunable_spaces():
    """{model name: {space name: hyperparameters}} for every registered model that has a recipe whose
    flags include each hyperparameter of its spaces."""
    import zoo
    from zoo import registry, search_space

    zoo.names()  # registers the models
    tunable = {}
    for name in registry.names():
        config_cls = recipe_config_class(name)
        fields = {f.name for f in dataclasses.fields(config_cls)} if config_cls else set()
        spaces = {space: params for space, params in search_space.spaces_of(registry.get_class(name)).items()
                  if all(p.name in fields for p in params)}
        if spaces:
            tunable[name] = spaces
    return tunable


@dataclasses.dataclass
class SearchConfig:
    """Flags of `python -m tuning.search`."""

    model: str = flag("vae", "registered model to tune (one with search spaces and a recipe recipes.<model>_mnist)")
    space: str = flag("latent_dim", "search space, defined beside the model (its `search_spaces`)")
    tuner: str = flag("hyperband", "search algorithm", choices=TUNERS)
    max_trials: int = flag(10, "most trials to run (for Hyperband, a cap on its own schedule); rerun with more "
                               "to extend a finished search", flags.positive)
    epochs: int = flag(9, "training epochs of each trial (Hyperband: the most any trial gets, its max_epochs)",
                       flags.positive)
    out: str = flag(None, "search directory (default runs/search/<model>_<space>_<tuner>); rerunning the same "
                          "command in it resumes the search")
    objective: str = flag("val_loss", "validation metric to optimize: val_<name> for a loss the model's test_step "
                                      f"logs, or {PROBE_OBJECTIVE} (logistic regression on the codes)")
    direction: str = flag(None, f"whether the objective is minimized or maximized (fixed for val_loss and "
                                f"{PROBE_OBJECTIVE}; default min for the others)", choices=("min", "max"))
    factor: int = flag(3, "Hyperband's reduction factor", flags.at_least_two)
    data_dir: str = flag(None, f"directory of the MNIST IDX files (default: ${DATA_DIR_ENV}, then "
                               "tensorflow-datasets)", flags.existing_dir)
    batch_size: int = flag(100, "images per batch", flags.positive)
    learning_rate: float = flag(1e-3, "Adam learning rate, constant during trials", flags.positive)
    seed: int = flag(0, "seed of data shuffling and initialization; the oracle's seed is this + 1 (Keras Tuner "
                        "reads 0 as no seed)")
    validation_size: int = flag(10000, "training images held out to score trials", flags.positive)
    train_limit: int = flag(0, "use only the first N of the remaining training images (0 = all)", flags.non_negative)
    xla: str = flag("auto", "XLA compilation (auto = on with a GPU)", choices=("auto", "on", "off"))
    eval_samples: int = flag(500, "importance samples k of the retrained models' test log-likelihood", flags.positive)
    final_epochs: int = flag(20, "epochs of retraining the best configuration with the recipe's learning-rate "
                                 "schedule (0 = no retraining)", flags.non_negative)
    compare_default: bool = flag(True, "also train the model's default configuration like the best, to compare")
    export_dir: str = flag(None, "where to export the retrained best model (default <out>/best/saved_model)")

    def __post_init__(self):
        self.out = self.out or f"runs/search/{self.model}_{self.space}_{self.tuner}"
        self.direction = self.direction or FIXED_DIRECTIONS.get(self.objective, "min")
        self.export_dir = self.export_dir or str(Path(self.out) / "best" / "saved_model")

    def check(self):
        """Checks of the model, space and objective (these import the zoo) and of the chief's port."""
        with flags.native_stderr_silenced():
            tunable = tunable_spaces()
        if self.model not in tunable:
            return f"--model {self.model!r} has no search space; tunable models: {', '.join(sorted(tunable))}"
        if self.space not in tunable[self.model]:
            return (f"--space {self.space!r} is not a search space of {self.model}; its spaces: "
                    f"{', '.join(sorted(tunable[self.model]))}")
        objectives = objective_names(self.model)
        if self.objective not in objectives:
            return f"--objective {self.objective!r} is not logged for {self.model}; choose one of {', '.join(objectives)}"
        fixed = FIXED_DIRECTIONS.get(self.objective, self.direction)
        if self.direction != fixed:
            return f"{self.objective} is to be {fixed}imized; received --direction {self.direction}"
        return cluster_error()

    @property
    def hyperparameters(self):
        """The searched hyperparameters (zoo.search_space specs), defined beside the model."""
        return tunable_spaces()[self.model][self.space]

    def defining_settings(self):
        """The settings that define the search (see SEARCH_DEFINING_FLAGS)."""
        return {k: getattr(self, k) for k in SEARCH_DEFINING_FLAGS}


def objective_names(model):
    """The objectives a search over `model` can optimize."""
    from zoo import registry

    return [f"val_{name}" for name in registry.get_class(model).loss_names] + [PROBE_OBJECTIVE]


def recipe_config(search, hyperparameters, **settings):
    """The recipe config of `search.model` with the search's data and optimizer settings, `hyperparameters`
    and `settings` (run_dir, epochs, ...) over the recipe's defaults."""
    shared = {k: getattr(search, k) for k in ("data_dir", "batch_size", "learning_rate", "seed", "validation_size",
                                              "train_limit", "xla", "eval_samples")}
    return dataclasses.replace(recipe_config_class(search.model)(), **shared, **hyperparameters, **settings)


def default_hyperparameters(search):
    """The recipe's default values of the searched hyperparameters."""
    defaults = recipe_config_class(search.model)()
    return {p.name: getattr(defaults, p.name) for p in search.hyperparameters}


def _write_json(path, value):
    atomic_write_text(path, json.dumps(value, indent=1))


def check_search_dir(search):
    """Records the search's defining settings in <out>/search.json, or refuses a directory holding another search."""
    out = Path(search.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "search.json"
    if path.exists():
        mismatch = settings_mismatch(json.loads(path.read_text()), search.defining_settings())
        if mismatch:
            raise ZooError(f"{out} holds a search with other settings {mismatch}; rerun with the same flags to "
                           "resume it, or pass another --out")
    else:
        _write_json(path, search.defining_settings())


def log_event(out, **event):
    """Appends one line to <out>/trial_log.jsonl (trial starts and ends, by which tuner process)."""
    with open(Path(out) / "trial_log.jsonl", "a") as log:
        log.write(json.dumps({"time": round(time.time(), 3), **event}) + "\n")


def build_tuner(search):
    """The Keras Tuner tuner of `search`: its oracle over the model's space, and trials run by the training core."""
    import keras_tuner as kt

    hp = kt.HyperParameters()
    for param in search.hyperparameters:
        param.declare(hp)
    # A failed trial (a diverged run) is reported in the table; it must not stop the search, which in
    # chief/worker mode would leave the chief waiting for a trial that never ends.
    common = dict(objective=kt.Objective(search.objective, search.direction), hyperparameters=hp,
                  seed=search.seed + 1, max_consecutive_failed_trials=None)
    oracles = {
        "random": lambda: kt.oracles.RandomSearchOracle(max_trials=search.max_trials, **common),
        "bayesian": lambda: kt.oracles.BayesianOptimizationOracle(max_trials=search.max_trials, **common),
        "hyperband": lambda: kt.oracles.HyperbandOracle(max_epochs=search.epochs, factor=search.factor, **common),
    }
    oracle = oracles[search.tuner]()
    oracle.max_trials = search.max_trials  # Hyperband takes no max_trials; the base oracle honours this cap

    class ZooTuner(kt.engine.base_tuner.BaseTuner):
        """Runs each trial through `zoo.training.train` in <out>/trials/<trial id> (see `train_trial`)."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            ask = self.oracle.create_trial

            def create_trial(tuner_id):  # without this, a worker waiting for Hyperband's next round spins
                trial = ask(tuner_id)
                if trial.status == kt.engine.trial.TrialStatus.IDLE:
                    time.sleep(IDLE_WAIT_SECONDS)
                return trial

            self.oracle.create_trial = create_trial

        def on_search_begin(self):
            self.save()  # so that a search interrupted in its first trial reloads its oracle

        def run_trial(self, trial, *args, **kwargs):
            return train_trial(search, trial, self.tuner_id)

        def on_trial_end(self, trial):
            super().on_trial_end(trial)  # the oracle records the trial's end before the log says so
            log_event(search.out, trial=trial.trial_id, event="end", tuner=self.tuner_id, status=trial.status)

    return ZooTuner(oracle, directory=search.out, project_name="oracle")


def trial_dir(search, trial_id):
    """The training run directory of one trial."""
    return Path(search.out) / "trials" / trial_id


def continue_trial(search, previous, run_dir, initial_epoch):
    """Starts `run_dir` from a copy of the previous trial's checkpoint (copied aside, then renamed)."""
    source = trial_dir(search, previous)
    if not (source / "checkpoint.json").exists():
        raise ZooError(f"Hyperband continues trial {previous}, but {source} holds no checkpoint")
    tmp = run_dir.with_name(f"{run_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp, ignore=shutil.ignore_patterns("logs", "result.json", "figures", "*.tmp-*"))
    epochs_done = json.loads((tmp / "checkpoint.json").read_text())["epochs_done"]
    if epochs_done != initial_epoch:
        raise ZooError(f"Hyperband continues trial {previous} from epoch {initial_epoch}, but it holds {epochs_done}")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.rename(tmp, run_dir)


def train_trial(search, trial, tuner_id):
    """Trains one trial (resuming its checkpoint if it was interrupted) and returns its validation metrics.

    Hyperband's later rounds continue a trial of the previous round: its checkpoint is copied, and the
    training core extends it (trials use a constant learning rate, so more epochs simply continue).
    """
    import keras
    import keras_tuner as kt

    from zoo import training

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
        model, dataset, checkpoint = training.train(config, verbose=2, extendable=True)
    except training.TrainingDiverged as error:  # this configuration failed; the search goes on
        raise kt.errors.FailedTrialError(str(error)) from error
    except ZooError as error:  # e.g. a run dir of other settings: every trial would fail alike
        raise kt.errors.FatalError(f"trial {trial.trial_id}: {error}") from error
    metrics = {k: v for k, v in checkpoint.state["history"][-1].items() if k.startswith("val_")}
    if search.objective == PROBE_OBJECTIVE:
        metrics[PROBE_OBJECTIVE] = probe_accuracy(model, dataset)
    result = {"trial": trial.trial_id, "tuner": tuner_id, "hyperparameters": hyperparameters, "epochs": epochs,
              "continued_from": previous, "seconds": round(time.perf_counter() - start, 1), "metrics": metrics}
    _write_json(run_dir / "result.json", result)
    return metrics


def probe_accuracy(model, dataset, evaluation="validation"):
    """Accuracy on the `evaluation` split ("validation" or "test") of logistic regression on the codes, fit on
    PROBE_TRAIN_IMAGES training codes."""
    import numpy as np

    from zoo import metrics

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
    return metrics.linear_probe_accuracy(train_codes, train_labels, codes, labels, iterations=200)


def finish(search, tuner, command):
    """After the search: the trial table and plot, then the best (and default) configuration retrained."""
    from tuning import report
    from zoo import pipeline, training

    rows = report.trial_rows(search, tuner.oracle)
    paths = report.write_results(search, rows, default_hyperparameters(search))
    print(f"wrote {', '.join(map(str, paths))}")
    for row in rows:
        if row["message"]:
            print(f"trial {row['trial']} {row['status']}: {row['message']}")
    completed = [row for row in rows if row["status"] == "COMPLETED"]
    if not completed:
        raise ZooError(f"no trial of the search in {search.out} completed; their messages are above")
    best = report.best_row(search, completed)
    print(f"best trial {best['trial']}: {search.objective} = {best['objective']:.4f} with {best['hyperparameters']}")
    runs = {}
    if search.final_epochs:
        candidates = {"best": best["hyperparameters"]}
        if search.compare_default and default_hyperparameters(search) != best["hyperparameters"]:
            candidates["default"] = default_hyperparameters(search)
        for name, hyperparameters in candidates.items():
            # Named by trial and epochs, so that extending the search or retraining longer starts a new run.
            label = f"best_trial{best['trial']}" if name == "best" else "default"
            config = recipe_config(search, hyperparameters, epochs=search.final_epochs,
                                   run_dir=str(Path(search.out) / f"{label}_{search.final_epochs}epochs"),
                                   export_dir=search.export_dir if name == "best" else "")
            card_extra = {"search": {"command": command, "directory": search.out, "tuner": search.tuner,
                                     "space": search.space, "objective": search.objective,
                                     "direction": search.direction, "best_trial": best["trial"],
                                     "best_objective": best["objective"], "trials_completed": len(completed),
                                     "hyperparameters": hyperparameters}}
            print(f"retraining the {name} configuration {hyperparameters} for {search.final_epochs} epochs")
            metrics = pipeline.publish(config, command=f"{command}  # {name} configuration", card_extra=card_extra)
            if search.objective == PROBE_OBJECTIVE:  # the objective itself, measured on the test split
                from zoo import data

                dataset = data.mnist(config.batch_size, config.binarization, config.data_dir, config.seed,
                                     config.validation_size, config.train_limit or None)
                metrics["test_probe_accuracy"] = probe_accuracy(training.load_trained(config), dataset, "test")
            runs[name] = {"hyperparameters": hyperparameters, "metrics": metrics}
    summary = report.write_summary(search, command, rows, best, runs)
    print(f"wrote {summary}")


def main(argv=None):
    search = flags.parse(SearchConfig, argv, prog=PROG, description=__doc__)
    command = flags.command_line(PROG, argv)
    from zoo import data

    data.load_mnist_arrays(search.data_dir)  # bad data fails here, once, not in every trial
    check_search_dir(search)
    log_event(search.out, event="session", tuner=os.environ.get("KERASTUNER_TUNER_ID", "tuner0"))
    tuner = build_tuner(search)
    role = os.environ.get("KERASTUNER_TUNER_ID", "")
    import keras_tuner as kt

    try:
        tuner.search()
    except kt.errors.FatalError as error:
        raise ZooError(str(error)) from None
    if role and "chief" not in role and "KERASTUNER_ORACLE_IP" in os.environ:
        print(f"worker {role}: the oracle has no more trials; the chief writes the results")
        return
    finish(search, tuner, command)


if __name__ == "__main__":
    cli.run_main(main)
