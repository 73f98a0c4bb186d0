"""AutoRec on MovieLens 100K: `python -m recipes.autorec_movielens --help`.

I-AutoRec and U-AutoRec (Sedhain et al., WWW 2015: h(r) = f(W g(V r + mu) + b), g sigmoid, f identity,
loss on observed ratings only, L2 on W and V, 500 hidden units; trained here with Adam and, as denoising
successors of AutoRec do, with a fraction of each input vector's ratings hidden in training) against the global
mean, user + item biases and biased matrix factorization, all on the same random 90/10 splits (10% of each
training part held out for early stopping and for choosing settings). On each split, each model is fit with
every setting of the grid its flags give, and the fit with the lowest validation RMSE is scored by its
test RMSE; the table gives the mean and the sample standard deviation (ddof=1) over the splits.
Predictions are clipped to [1, 5]; users or items without training ratings get 3. The first split's
I-AutoRec is exported as a SavedModel (<out-dir>/saved_model, the settings chosen on that split) whose
`complete(ratings)` endpoint fills in an item's vector of ratings by the 943 users.
Results: <out-dir>/results.json and results.md; finished fits are kept, so a rerun with the same settings and the
same u.data continues (other settings are refused; a changed u.data is fit afresh).
"""

import dataclasses
import itertools
import math
import shutil

from zoo import cli, config, flags
from zoo.errors import TrainingDiverged
from zoo.flags import flag

PROG = "python -m recipes.autorec_movielens"
OUT_DIR = f"the output dir of {PROG}"


@dataclasses.dataclass
class AutoRecMovieLensConfig(config.DistributeFlags):
    """Flags of `python -m recipes.autorec_movielens`."""

    data_dir: str = flag(None, "directory holding MovieLens 100K's u.data (default: $ZOO_MOVIELENS_DIR, then "
                               "tensorflow-datasets movielens/100k-ratings)", flags.existing_dir)
    splits: int = flag(5, "random 90/10 splits (seeds 0, 1, ...)", flags.count(1, 100))
    hidden_units: int = flag(500, "AutoRec's hidden units", flags.WIDTHS)
    epochs: int = flag(1000, "most AutoRec epochs (early stopping on the validation RMSE, patience 30)", flags.EPOCHS)
    autorec_l2: tuple = flag((0.1, 0.2), "grid of AutoRec's L2 penalty per vector", flags.positive, type=float)
    autorec_input_dropout: tuple = flag((0.4, 0.5, 0.6), "grid of the fraction of AutoRec's input entries hidden in "
                                        "training (every pair with --autorec-l2 is fit)",
                                        flags.unit_interval_right_open, type=float)
    autorec_learning_rate: float = flag(3e-4, "AutoRec's Adam learning rate (mini-batches of 64 vectors)",
                                        flags.positive)
    mf_l2: tuple = flag((0.05, 0.1, 0.2), "grid of biased MF's L2 penalty per rating", flags.positive, type=float)
    mf_epochs: int = flag(200, "most epochs of biased MF (Adam on mini-batches of 1000 ratings; early stopping on the "
                               "validation RMSE, patience 10)", flags.EPOCHS)
    bias_regularization: tuple = flag((2.0, 5.0, 10.0, 25.0), "grid of the biases' regularization", flags.positive,
                                      type=float)
    out_dir: str = flag("runs/autorec_movielens", "where results and the exported model go; rerunning resumes",
                         flags.owned_dir(OUT_DIR))


def grids(settings):
    """predictor name -> (keywords it chooses, candidates: a tuple of values each); the global mean has nothing to
    choose, AutoRec every pair of a penalty and an input dropout."""
    autorec = (("l2", "input_dropout"), list(itertools.product(settings.autorec_l2, settings.autorec_input_dropout)))
    return {"global_mean": ((), [()]),
            "biases": (("regularization",), [(value,) for value in settings.bias_regularization]),
            "biased_mf": (("l2",), [(value,) for value in settings.mf_l2]), "i_autorec": autorec, "u_autorec": autorec}


def candidate_name(values):
    """A candidate's part of a result's key: its values joined by commas ("None" for the global mean's)."""
    return ",".join(str(value) for value in values) or "None"


def candidate_text(keywords, values):
    """A candidate's settings as a reader sees them, e.g. "l2=0.1, input_dropout=0.5" ("-" for the global mean's)."""
    return ", ".join(f"{keyword}={value}" for keyword, value in zip(keywords, values)) or "-"


def make(settings, name, values):
    from zoo import recommenders

    keywords, _ = grids(settings)[name]
    options = dict(zip(keywords, values))
    if name.endswith("autorec"):
        options.update(hidden_units=settings.hidden_units, epochs=settings.epochs,
                       learning_rate=settings.autorec_learning_rate)
    if name == "biased_mf":
        options.update(epochs=settings.mf_epochs)
    return recommenders.PREDICTORS[name](**options)


def export_autorec(predictor, argv, metrics, path):
    """Exports the fitted AutoRec with the zoo's atomic export and a card of its measured RMSE. Its `complete`
    endpoint predicts every entry; the recipe's rule of 3 for unseen users or items is left to the caller."""
    from zoo import export
    from zoo.files import git_commit

    card = {"model": "autorec", "description": "I-AutoRec: completes an item's rating vector over the 943 users",
            "model_config": predictor.model.constructor_config(), "data": "MovieLens 100K, split seed 0",
            "command": flags.command_line(PROG, argv), "metrics": metrics,
            "endpoints": sorted(predictor.model.ENDPOINTS), "git_commit": git_commit(),
            "input": "ratings float32 [b, 943]: 1..5 where known, 0 where unknown"}
    export.export(predictor.model, path, card)


def main(argv=None):
    settings = flags.parse(AutoRecMovieLensConfig, argv, prog=PROG, description=__doc__)
    return cli.run_distributed(run, settings, argv, 'out_dir')


def run(settings, argv):
    """The recipe, in the scope of its --strategy."""
    import numpy as np

    from zoo import movielens
    from zoo.files import Number, Record, ResultStore, owned_dir

    out = owned_dir(settings.out_dir, OUT_DIR)
    ratings = movielens.splittable(movielens.load_ratings(settings.data_dir), settings.data_dir)
    shape = movielens.matrix_shape(ratings)
    defining = {k: v for k, v in flags.settings_dict(settings).items()
                if k not in ("splits", "out_dir", "data_dir", *config.DISTRIBUTE_FLAGS)}
    rmse = Number(0, 4)  # predictions and ratings are both in [1, 5]
    fits = ResultStore(out / "results.json", defining, movielens.ratings_fingerprint(settings.data_dir),
                       extra={"command": flags.command_line(PROG, argv)},
                       validate=Record({"validation": rmse, "test": rmse}))
    chosen = {}
    for seed in range(settings.splits):
        train, validation, test = movielens.split(ratings, seed)
        for name, (keywords, candidates) in grids(settings).items():
            for values in candidates:
                key = f"{seed}/{name}/{candidate_name(values)}"
                if key not in fits:
                    predictor = make(settings, name, values).fit(train, validation, shape, seed)
                    fit = {"validation": movielens.rmse(predictor.predict(validation), validation),
                           "test": movielens.rmse(predictor.predict(test), test)}
                    if not all(map(math.isfinite, fit.values())):  # never recorded, nor chosen
                        raise TrainingDiverged(f"split {seed}, {name} ({candidate_text(keywords, values)}): validation "
                                               f"RMSE {fit['validation']}, test RMSE {fit['test']}; nothing was recorded")
                    if name == "i_autorec" and seed == 0:  # exported before it is recorded, so never skipped
                        export_autorec(predictor, argv, {"validation_rmse": fit["validation"], "split_seed": 0},
                                       out / f"saved_model_{candidate_name(values)}")
                    fits.put(key, fit)
            best = min(candidates, key=lambda v: fits[f"{seed}/{name}/{candidate_name(v)}"]["validation"])
            chosen[f"{seed}/{name}"] = best
            fit = fits[f"{seed}/{name}/{candidate_name(best)}"]
            print(f"split {seed}, {name} ({candidate_text(keywords, best)}): "
                  f"validation RMSE {fit['validation']:.4f}, test RMSE {fit['test']:.4f}", flush=True)
    best_export = out / f"saved_model_{candidate_name(chosen['0/i_autorec'])}"
    if best_export.exists():
        shutil.rmtree(out / "saved_model", ignore_errors=True)
        shutil.copytree(best_export, out / "saved_model")
    lines = ["| model | settings chosen on each split's validation part | test RMSE, mean ± std over "
             f"{settings.splits} splits |", "|---|---|---|"]
    for name, (keywords, _) in grids(settings).items():
        picks = [chosen[f"{seed}/{name}"] for seed in range(settings.splits)]
        values = [fits[f"{seed}/{name}/{candidate_name(pick)}"]["test"] for seed, pick in enumerate(picks)]
        settings_text = "-"
        if keywords:
            shown = sorted({candidate_name(pick) for pick in picks})
            settings_text = f"({', '.join(keywords)}) in [{'; '.join(shown)}]" if len(keywords) > 1 else \
                f"{keywords[0]} in [{', '.join(shown)}]"
        spread = f"{np.std(values, ddof=1):.4f}" if len(values) > 1 else "n/a"
        lines.append(f"| {name} | {settings_text} | {np.mean(values):.4f} ± {spread} |")
    lines += ["", "std: the sample standard deviation of the test RMSE over the splits (ddof=1; n/a for one split)."]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    cli.run_main(main)
