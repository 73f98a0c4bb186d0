"""After a search: the trial table, plot and summary (`tuning.report`), and the best configuration, beside
the model's default one, retrained with the recipe's schedule, evaluated on the test split and exported.

Imports TensorFlow: `tuning.search` imports this module only once its flags are parsed.
"""

from pathlib import Path

from tuning import report
from tuning.spaces import PROBE_OBJECTIVE, default_hyperparameters, recipe_config
from tuning.trials import probe_accuracy
from zoo import pipeline, training
from zoo.errors import ZooError


def finish(search, oracle, command):
    """Writes the trial table and plot of `oracle`'s trials, retrains the best (and default) configuration
    for `search.final_epochs` (none if 0), and writes the summary. `command` is the search's command line,
    recorded in the cards and the summary. Raises ZooError if no trial completed."""
    rows = report.trial_rows(search, oracle)
    defaults = default_hyperparameters(search)
    paths = report.write_results(search, rows, defaults)
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
        if search.compare_default and defaults != best["hyperparameters"]:
            candidates["default"] = defaults
        for name, hyperparameters in candidates.items():
            runs[name] = retrain(search, name, hyperparameters, best, len(completed), command)
    summary = report.write_summary(search, command, rows, best, runs)
    print(f"wrote {summary}")


def retrain(search, name, hyperparameters, best, trials_completed, command):
    """Trains, evaluates and exports (the best only) the configuration `name` ("best" or "default") through
    the publishing pipeline; returns {"hyperparameters": ..., "metrics": ...} for the summary."""
    # Named by trial and epochs, so that extending the search or retraining longer starts a new run.
    label = f"best_trial{best['trial']}" if name == "best" else "default"
    config = recipe_config(search, hyperparameters, epochs=search.final_epochs,
                           run_dir=str(Path(search.out) / f"{label}_{search.final_epochs}epochs"),
                           export_dir=search.export_dir if name == "best" else "")
    card_extra = {"search": {"command": command, "directory": search.out, "tuner": search.tuner,
                             "space": search.space, "objective": search.objective,
                             "direction": search.direction, "best_trial": best["trial"],
                             "best_objective": best["objective"], "trials_completed": trials_completed,
                             "hyperparameters": hyperparameters}}
    print(f"retraining the {name} configuration {hyperparameters} for {search.final_epochs} epochs")
    metrics = pipeline.publish(config, command=f"{command}  # {name} configuration", card_extra=card_extra)
    if search.objective == PROBE_OBJECTIVE:  # the objective itself, measured on the test split
        dataset = training.dataset_of(config)
        metrics["test_probe_accuracy"] = probe_accuracy(training.load_trained(config), dataset, "test")
    return {"hyperparameters": hyperparameters, "metrics": metrics}
