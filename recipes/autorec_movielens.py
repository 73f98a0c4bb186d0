"""AutoRec on MovieLens 100K: `python -m recipes.autorec_movielens --help`.

I-AutoRec and U-AutoRec (Sedhain et al., WWW 2015: h(r) = f(W g(V r + mu) + b), g sigmoid, f identity,
loss on observed ratings only, L2 on W and V, 500 hidden units) against the global mean, user + item
biases and biased matrix factorization, all on the same random 90/10 splits (10% of each training
part held out for early stopping and for choosing penalties). On each split, each model is fit with
every penalty of the grid its flag gives, and the fit with the lowest validation RMSE is scored by its
test RMSE; the table gives the mean and the sample standard deviation (ddof=1) over the splits.
Predictions are clipped to [1, 5]; users or items without training ratings get 3. The first split's
I-AutoRec is exported as a SavedModel (<out-dir>/saved_model, the penalty chosen on that split) whose
`complete(ratings)` endpoint fills in an item's vector of ratings by the 943 users.
Results: <out-dir>/results.json and results.md; finished fits are kept, so a rerun with the same settings and the
same u.data continues (other settings are refused; a changed u.data is fit afresh).
"""

import dataclasses
import shutil
from pathlib import Path

from zoo import cli, config, flags
from zoo.flags import flag

PROG = "python -m recipes.autorec_movielens"


@dataclasses.dataclass
class AutoRecMovieLensConfig(config.DistributeFlags):
    """Flags of `python -m recipes.autorec_movielens`."""

    data_dir: str = flag(None, "directory holding MovieLens 100K's u.data (default: $ZOO_MOVIELENS_DIR, then "
                               "tensorflow-datasets movielens/100k-ratings)", flags.existing_dir)
    splits: int = flag(5, "random 90/10 splits (seeds 0, 1, ...)", flags.count(1, 100))
    hidden_units: int = flag(500, "AutoRec's hidden units", flags.WIDTHS)
    epochs: int = flag(300, "most AutoRec epochs (early stopping on the validation RMSE, patience 30)", flags.EPOCHS)
    autorec_l2: tuple = flag((0.03, 0.1, 0.3), "grid of AutoRec's L2 penalty per vector", flags.positive, type=float)
    mf_l2: tuple = flag((0.05, 0.1, 0.2), "grid of biased MF's L2 penalty per rating", flags.positive, type=float)
    mf_epochs: int = flag(200, "most epochs of biased MF (Adam on mini-batches of 1000 ratings; early stopping on the "
                               "validation RMSE, patience 10)", flags.EPOCHS)
    bias_regularization: tuple = flag((2.0, 5.0, 10.0, 25.0), "grid of the biases' regularization", flags.positive,
                                      type=float)
    out_dir: str = flag("runs/autorec_movielens", "where results and the exported model go; rerunning resumes")


def grids(settings):
    """predictor name -> (keyword of its penalty, candidate values); the global mean has nothing to choose."""
    return {"global_mean": (None, [None]), "biases": ("regularization", list(settings.bias_regularization)),
            "biased_mf": ("l2", list(settings.mf_l2)), "i_autorec": ("l2", list(settings.autorec_l2)),
            "u_autorec": ("l2", list(settings.autorec_l2))}


def make(settings, name, value):
    from zoo import recommenders

    keyword, _ = grids(settings)[name]
    options = {keyword: value} if keyword else {}
    if name.endswith("autorec"):
        options.update(hidden_units=settings.hidden_units, epochs=settings.epochs)
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
    from zoo.files import ResultStore

    ratings = movielens.load_ratings(settings.data_dir)
    shape = (int(ratings[:, 0].max()), int(ratings[:, 1].max()))
    out = Path(settings.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    defining = {k: v for k, v in dataclasses.asdict(settings).items()
                if k not in ("splits", "out_dir", "data_dir", *config.DISTRIBUTE_FLAGS)}
    fits = ResultStore(out / "results.json", defining, movielens.ratings_fingerprint(settings.data_dir),
                       extra={"command": flags.command_line(PROG, argv)})
    chosen = {}
    for seed in range(settings.splits):
        train, validation, test = movielens.split(ratings, seed)
        for name, (keyword, values) in grids(settings).items():
            for value in values:
                key = f"{seed}/{name}/{value}"
                if key not in fits:
                    predictor = make(settings, name, value).fit(train, validation, shape, seed)
                    if name == "i_autorec" and seed == 0:  # exported before it is recorded, so never skipped
                        export_autorec(predictor, argv, {"validation_rmse": movielens.rmse(
                            predictor.predict(validation), validation), "split_seed": 0}, out / f"saved_model_l2_{value}")
                    fits.put(key, {"validation": movielens.rmse(predictor.predict(validation), validation),
                                   "test": movielens.rmse(predictor.predict(test), test)})
            best = min(values, key=lambda v: fits[f"{seed}/{name}/{v}"]["validation"])
            chosen[f"{seed}/{name}"] = best
            fit = fits[f"{seed}/{name}/{best}"]
            print(f"split {seed}, {name} ({keyword}={best}): validation RMSE {fit['validation']:.4f}, "
                  f"test RMSE {fit['test']:.4f}", flush=True)
    best_export = out / f"saved_model_l2_{chosen['0/i_autorec']}"
    if best_export.exists():
        shutil.rmtree(out / "saved_model", ignore_errors=True)
        shutil.copytree(best_export, out / "saved_model")
    lines = ["| model | penalty chosen on each split's validation part | test RMSE, mean ± std over "
             f"{settings.splits} splits |", "|---|---|---|"]
    for name, (keyword, _) in grids(settings).items():
        picks = [chosen[f"{seed}/{name}"] for seed in range(settings.splits)]
        values = [fits[f"{seed}/{name}/{pick}"]["test"] for seed, pick in enumerate(picks)]
        penalty = f"{keyword} in {sorted(set(picks))}" if keyword else "-"
        spread = f"{np.std(values, ddof=1):.4f}" if len(values) > 1 else "n/a"
        lines.append(f"| {name} | {penalty} | {np.mean(values):.4f} ± {spread} |")
    lines += ["", "std: the sample standard deviation of the test RMSE over the splits (ddof=1; n/a for one split)."]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    cli.run_main(main)
