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
import json
import os
from pathlib import Path

from tuning.cluster import cluster_error, is_worker, tuner_id
from tuning.spaces import PROBE_OBJECTIVE, objective_names, tunable_spaces
from zoo import cli, flags
from zoo.config import STRATEGIES, DataFlags
from zoo.errors import ZooError
from zoo.files import atomic_write_text, owned_dir, present, read_json, settings_mismatch
from zoo.flags import flag

PROG = "python -m tuning.search"
SEARCH_DIR = "the search dir"
TUNERS = ("hyperband", "random", "bayesian")
# Objectives whose direction is fixed; any other logged metric is minimized unless --direction says otherwise.
FIXED_DIRECTIONS = {"val_loss": "min", PROBE_OBJECTIVE: "max"}
# Settings that define a search: rerunning in the same --out with other values is refused.
SEARCH_DEFINING_FLAGS = ("model", "space", "tuner", "epochs", "objective", "direction", "factor", "batch_size",
                         "learning_rate", "seed", "validation_size", "train_limit")


@dataclasses.dataclass
class SearchConfig(DataFlags):
    """Flags of `python -m tuning.search`: what it searches, and the data (DataFlags) its trials train on."""

    model: str = flag("vae", "registered model to tune (one with search spaces and a recipe recipes.<model>_mnist)")
    space: str = flag("latent_dim", "search space, defined beside the model (its `search_spaces`)")
    tuner: str = flag("hyperband", "search algorithm", choices=TUNERS)
    max_trials: int = flag(10, "most trials to run (for Hyperband, a cap on its own schedule); rerun with more "
                               "to extend a finished search", flags.count(1, 10_000))
    epochs: int = flag(9, "training epochs of each trial (Hyperband: the most any trial gets, its max_epochs)",
                       flags.EPOCHS)
    out: str = flag(None, "search directory (default runs/search/<model>_<space>_<tuner>); rerunning the same "
                          "command in it resumes the search", flags.owned_dir(SEARCH_DIR))
    objective: str = flag("val_loss", "validation metric to optimize: val_<name> for a loss the model's test_step "
                                      f"logs, or {PROBE_OBJECTIVE} (logistic regression on the codes)")
    direction: str = flag(None, f"whether the objective is minimized or maximized (fixed for val_loss and "
                                f"{PROBE_OBJECTIVE}; default min for the others)", choices=("min", "max"))
    factor: int = flag(3, "Hyperband's reduction factor", flags.count(2, 100))
    batch_size: int = flag(100, "images per batch", flags.BATCH_SIZE)
    learning_rate: float = flag(1e-3, "Adam learning rate, constant during trials", flags.positive)
    seed: int = flag(0, "seed of data shuffling and initialization; the oracle's seed is this + 1 (Keras Tuner "
                        "reads 0 as no seed)", flags.SEED)
    validation_size: int = flag(10000, "training images held out to score trials", flags.count(1, 50_000))
    train_limit: int = flag(0, "use only the first N of the remaining training images (0 = all)", flags.IMAGE_COUNT)
    xla: str = flag("auto", "XLA compilation (auto = on with a GPU, off on CPU: trials do not time speed settings, "
                            "each of their models would need its own measurement)", choices=("auto", "on", "off"))
    strategy: str = flag("auto", "tf.distribute strategy of each trial (auto = mirrored with several GPUs, else one "
                                 "device; multi_worker is the recipes' alone: a search spreads its trials over Keras "
                                 "Tuner workers instead)",
                         choices=tuple(name for name in STRATEGIES if name != "multi_worker"))
    cpu_devices: int = flag(1, "split the CPU into this many logical devices (for --strategy mirrored without GPUs)",
                            flags.count(1, 64))
    eval_samples: int = flag(500, "importance samples k of the retrained models' test log-likelihood", flags.count(1, 100_000))
    final_epochs: int = flag(20, "epochs of retraining the best configuration with the recipe's learning-rate "
                                 "schedule (0 = no retraining)", flags.count(0, 10_000))
    compare_default: bool = flag(True, "also train the model's default configuration like the best, to compare")
    export_dir: str = flag(None, "where to export the retrained best model (default <out>/best/saved_model)")

    def __post_init__(self):
        self.out = f"runs/search/{self.model}_{self.space}_{self.tuner}" if self.out is None else self.out
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
        return cluster_error() or super().check()

    @property
    def hyperparameters(self):
        """The searched hyperparameters (zoo.search_space specs), defined beside the model."""
        return tunable_spaces()[self.model][self.space]

    def defining_settings(self):
        """The settings that define the search (see SEARCH_DEFINING_FLAGS; and the data flags but for MNIST, whose
        searches were recorded before they existed)."""
        settings = {k: getattr(self, k) for k in SEARCH_DEFINING_FLAGS}
        if self.data != "mnist":
            settings.update(data=self.data, image_size=list(self.image_size), label_column=self.label_column,
                            test_fraction=self.test_fraction)
        return settings


def check_search_dir(search):
    """Records the search's defining settings in <out>/search.json, or refuses a directory holding another search
(or, outside Keras Tuner's chief/worker mode, one that another process is searching in)."""
    out = Path(search.out)
    # Keras Tuner's chief and workers share --out by design: no lock among them
    owned_dir(out, SEARCH_DIR, lock="KERASTUNER_ORACLE_IP" not in os.environ)
    path = out / "search.json"
    if present(path):
        try:
            saved = read_json(path)
            why = None if isinstance(saved, dict) else "not a JSON object"
        except ValueError as error:
            why = str(error)
        if why:
            raise ZooError(f"{path}: cannot be read as the record of a search ({why}), so what {out} holds is "
                           "unknown; move it away to start the search afresh, or pass another --out")
        mismatch = settings_mismatch(saved, search.defining_settings())
        if mismatch:
            raise ZooError(f"{out} holds a search with other settings {mismatch}; rerun with the same flags to "
                           "resume it, or pass another --out")
    else:
        atomic_write_text(path, json.dumps(search.defining_settings(), indent=1))


def main(argv=None):
    """Runs the search of the command line `argv` (default sys.argv[1:]), then, in the chief or a lone
    process, writes its results and retrains the best configuration (`tuning.retrain.finish`)."""
    search = flags.parse(SearchConfig, argv, prog=PROG, description=__doc__)
    command = flags.command_line(PROG, argv)
    os.environ.setdefault("ZOO_SPEED_AUTO", "rule")  # see --xla: zoo.speed's fixed rule, no timing per trial
    # TensorFlow and Keras Tuner only now that the flags are good, so that bad ones fail fast.
    from tuning import retrain, tuner
    from zoo import sources

    sources.load(search.data, search.data_dir, tuple(search.image_size) or None, search.label_column,
                 search.test_fraction, search.seed)  # bad data fails here, once, not in every trial
    check_search_dir(search)
    oracle = tuner.run_search(search)
    if is_worker():
        print(f"worker {tuner_id()}: the oracle has no more trials; the chief writes the results")
        return
    retrain.finish(search, oracle, command)


if __name__ == "__main__":
    cli.run_main(main)
