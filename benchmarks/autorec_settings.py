"""How I-AutoRec's training settings were chosen: one fit per setting on one split, judged by its validation RMSE.

    python -m benchmarks.autorec_settings --data-dir ../shared/data/ml-100k [--split 0]

Each setting changes the paper's model as trained before (500 hidden units, l2 0.1, Adam at 1e-3 on mini-batches
of 64 item vectors, no input dropout, up to 300 epochs, early stopping with patience 30) in one or two ways. Every
fit is on the split's training part and stopped on its validation part; the test RMSE is recorded beside it but
chooses nothing. The recipe then chooses among its grid on each split's validation part, as for every predictor.
Results: benchmarks/results/autorec_movielens/settings.json, a zoo.files.ResultStore (finished fits are kept while the
split, the old settings and the ratings are the same: a rerun continues).
"""

import dataclasses
import json
import time
from pathlib import Path

from zoo import cli, flags
from zoo.flags import flag

PROG = "python -m benchmarks.autorec_settings"
RESULTS = Path(__file__).parent / "results" / "autorec_movielens" / "settings.json"
BEFORE = {"hidden_units": 500, "l2": 0.1, "learning_rate": 1e-3, "input_dropout": 0.0, "epochs": 300}
# (what changes from BEFORE): the settings tried, in the order they were tried.
SETTINGS = [
    {},
    {"input_dropout": 0.25}, {"input_dropout": 0.5}, {"input_dropout": 0.75},
    {"l2": 0.03, "input_dropout": 0.5}, {"l2": 0.03, "input_dropout": 0.75}, {"l2": 0.01, "input_dropout": 0.75},
    {"l2": 0.3}, {"l2": 0.3, "input_dropout": 0.5},
    {"hidden_units": 1000}, {"hidden_units": 1000, "input_dropout": 0.5}, {"hidden_units": 250, "input_dropout": 0.5},
    {"learning_rate": 3e-4, "epochs": 1000},
    {"learning_rate": 3e-4, "epochs": 1000, "input_dropout": 0.25},
    {"learning_rate": 3e-4, "epochs": 1000, "input_dropout": 0.5},
    {"learning_rate": 3e-4, "epochs": 1000, "input_dropout": 0.75},
    {"learning_rate": 3e-4, "epochs": 1000, "input_dropout": 0.5, "l2": 0.05},
    {"learning_rate": 3e-4, "epochs": 1000, "input_dropout": 0.5, "l2": 0.2},
    {"learning_rate": 1e-4, "epochs": 1000, "input_dropout": 0.5},
    {"learning_rate": 3e-4, "epochs": 1000, "input_dropout": 0.5, "batch_size": 256},
]


@dataclasses.dataclass
class AutoRecSettingsConfig:
    """Flags of `python -m benchmarks.autorec_settings`."""

    data_dir: str = flag(None, "directory holding MovieLens 100K's u.data (default: $ZOO_MOVIELENS_DIR)",
                         flags.existing_dir)
    split: int = flag(0, "the random 90/10 split (its seed)", flags.count(0, 99))
    out: str = flag(str(RESULTS), "where to write the results (JSON); finished fits there are kept", flags.file_path)


def main(argv=None):
    settings = flags.parse(AutoRecSettingsConfig, argv, prog=PROG, description=__doc__)
    from zoo import movielens, recommenders, speed
    from zoo.files import Number, Record, ResultStore

    ratings = movielens.splittable(movielens.load_ratings(settings.data_dir), settings.data_dir)
    shape = movielens.matrix_shape(ratings)
    train, validation, test = movielens.split(ratings, settings.split)
    out = Path(settings.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rmse = Number(0, 4)  # predictions and ratings are both in [1, 5]
    fits = ResultStore(out, {"split": settings.split, "before": BEFORE}, movielens.ratings_fingerprint(settings.data_dir),
                       other_settings="recompute",
                       extra={"cpu": speed.cpu_model(), "command": flags.command_line(PROG, argv)},
                       validate=Record({"validation_rmse": rmse, "test_rmse": rmse, "best_epoch": Number(1, integer=True),
                                        "seconds": Number(0)}))
    for change in SETTINGS:
        key = json.dumps(change, sort_keys=True)
        if key not in fits:
            start = time.perf_counter()
            predictor = recommenders.AutoRecPredictor("item", **{**BEFORE, **change}).fit(
                train, validation, shape, settings.split)
            fits.put(key, {"validation_rmse": round(movielens.rmse(predictor.predict(validation), validation), 4),
                           "test_rmse": round(movielens.rmse(predictor.predict(test), test), 4),
                           "best_epoch": predictor.best_epoch, "seconds": round(time.perf_counter() - start, 1)})
        fit = fits[key]
        print(f"{key}: validation RMSE {fit['validation_rmse']:.4f} (test {fit['test_rmse']:.4f}, best epoch "
              f"{fit['best_epoch']}, {fit['seconds']:.0f} s)", flush=True)
    return fits.results


if __name__ == "__main__":
    cli.run_main(main)
