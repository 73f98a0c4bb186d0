"""The Keras Tuner side of a search: the oracle over the model's space, and the tuner that runs its trials.

Imports TensorFlow and Keras Tuner: `tuning.search` imports this module only once its flags are parsed.
"""

import json
import time
from pathlib import Path

import keras_tuner as kt
from keras_tuner.src import utils as kt_utils

from tuning import trials
from tuning.cluster import tuner_id
from zoo.errors import ZooError, in_one_line
from zoo.files import atomic_write_text

IDLE_WAIT_SECONDS = 2  # a worker waiting for Hyperband's next round asks the chief again after this


def _save_json_atomically(path, obj):
    """Keras Tuner's `save_json` (its every state file: oracle.json, tuner0.json, each trial.json), through a temporary
    file and a rename: its own writes in place, so a search killed while saving left an empty trial.json that no
    rerun could reload."""
    text = json.dumps(obj)
    atomic_write_text(path, text)
    return text


kt_utils.save_json = _save_json_atomically  # keras_tuner.src.engine.stateful and tuner call it through the module


def build_oracle(search):
    """The oracle of `search`: its tuner algorithm over the model's space, capped at `search.max_trials`."""
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
    return oracle


class ZooTuner(kt.engine.base_tuner.BaseTuner):
    """Runs each trial of a search through the training core in <out>/trials/<trial id> (`trials.train_trial`)
    and logs its end in <out>/trial_log.jsonl.

    When the oracle has no trial to give yet (IDLE: in chief/worker mode, Hyperband waiting for the other
    workers to end its round), Keras Tuner asks again at once; this tuner waits IDLE_WAIT_SECONDS first,
    so that a waiting worker does not spin on the chief.

    Args:
        search: the search's settings (tuning.search.SearchConfig).
        oracle: its oracle (`build_oracle`); a worker's is replaced by Keras Tuner with a client of the chief's.
        **kwargs: BaseTuner's, e.g. directory and project_name.
    """

    def __init__(self, search, oracle, **kwargs):
        super().__init__(oracle, **kwargs)
        self.settings = search  # not `self.search`: that is BaseTuner's method
        self._asked_in_vain = False  # the last ask of the oracle gave no trial to run

    def on_search_begin(self):
        self.save()  # so that a search interrupted in its first trial reloads its oracle
        self._asked_in_vain = False

    def pre_create_trial(self):
        # Called before every ask; the previous ask was in vain unless a trial began since.
        if self._asked_in_vain:
            time.sleep(IDLE_WAIT_SECONDS)
        self._asked_in_vain = True

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        self._asked_in_vain = False

    def run_trial(self, trial, *args, **kwargs):
        return trials.train_trial(self.settings, trial, self.tuner_id)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)  # the oracle records the trial's end before the log says so
        trials.log_event(self.settings.out, trial=trial.trial_id, event="end", tuner=self.tuner_id,
                         status=trial.status)


def build_tuner(search):
    """The tuner of `search`, keeping its oracle's state in <out>/oracle (so that a rerun resumes)."""
    return ZooTuner(search, build_oracle(search), directory=search.out, project_name="oracle")


def run_search(search):
    """Runs `search` in this process, as the chief, a worker or alone (see tuning.search), until the oracle
    has no more trials for it; returns the oracle (a worker's: a client of the chief's). Raises ZooError if a
    trial failed in a way every trial would (kt.errors.FatalError)."""
    trials.log_event(search.out, event="session", tuner=tuner_id())
    try:
        tuner = build_tuner(search)
    except Exception as error:  # Keras Tuner reloading its saved state: whatever a damaged file makes it raise
        state = Path(search.out) / "oracle"
        if not state.exists():
            raise
        raise ZooError(f"{state}: Keras Tuner's saved state of the search cannot be reloaded ({in_one_line(error)}); "
                       f"move {search.out} away to start the search afresh, or pass another --out") from None
    try:
        tuner.search()
    except kt.errors.FatalError as error:
        raise ZooError(str(error)) from None
    return tuner.oracle
