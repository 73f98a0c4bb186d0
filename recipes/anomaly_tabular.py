"""Anomaly detection on a table of numbers: `python -m recipes.anomaly_tabular --help`.

The semi-supervised protocol of the ODDS benchmarks: the detectors train on the normal class's training rows only
and score the held-out test rows of every class; AUROC says how well the score ranks the other classes' rows above
the normal ones. With no flags: scikit-learn's Wisconsin breast cancer data (569 rows of 30 measurements; benign
normal, malignant anomalous), 5 seeds, each its own stratified split.

Detectors: the zoo's dense autoencoder (score: squared reconstruction error of the standardised row), its VAE with
a Gaussian likelihood (score: -ELBO) and, on the same splits and the same standardisation, scikit-learn's
IsolationForest, LocalOutlierFactor (novelty) and OneClassSVM with their default settings. The zoo's detectors use
the flags' settings (nothing is tuned on anomalies or test rows); their thresholds are set on held-out normal
training rows for --false-positive-rate. Each seed's detector is a run of the training core in
<run-dir>/<detector>/seed<s> (rerunning resumes); results.json, results.md and the ROC curves of the first seed go
to <run-dir>. With --export-dir the first seed's detectors are exported (see its help): their `score`
endpoint takes raw rows (the model standardises them itself) and their card holds the threshold.
"""

import dataclasses
import json
from pathlib import Path

from zoo import cli, config, data_spec, flags
from zoo.flags import flag

PROG = "python -m recipes.anomaly_tabular"
OUT_DIR = f"the output dir of {PROG}"
BASELINES = ("isolation_forest", "local_outlier_factor", "one_class_svm")


def _autoencoder(settings):
    from recipes.ae_mnist import AEMnistConfig

    return AEMnistConfig(output_activation="linear", latent_dim=settings.latent_dim,
                         hidden_units=settings.hidden_units)


def _vae(settings):
    from recipes.vae_mnist import VAEMnistConfig

    return VAEMnistConfig(likelihood="gaussian", latent_dim=settings.latent_dim, hidden_units=settings.hidden_units)


# name -> (the recipe config it trains with, given the settings; the anomaly score it ranks rows by)
DETECTORS = {"autoencoder": (_autoencoder, "reconstruction"), "vae": (_vae, "neg_elbo")}


@dataclasses.dataclass
class AnomalyTabularConfig(config.DistributeFlags):
    """Flags of `python -m recipes.anomaly_tabular`."""

    data: str = flag("sklearn:breast_cancer", "a labelled table: csv:FILE (with --label-column), arrays:FILE.npz "
                                              "with labels, or sklearn:breast_cancer", data_spec.problem)
    label_column: str = flag(None, "--data csv: the column holding each row's class")
    normal_class: str = flag("benign", "the class whose rows are normal: one of the source's class names, or its "
                                       "index")
    seeds: tuple = flag((0, 1, 2, 3, 4), "one split and one training per seed", flags.SEED)
    test_fraction: float = flag(0.4, "share of the rows held out as the test part (stratified by class)",
                                flags.open_unit_interval)
    validation_size: int = flag(60, "training rows held out (of every class; the normal ones set the threshold)",
                                flags.count(1, 1_000_000))
    detectors: tuple = flag(tuple(DETECTORS), "the zoo's detectors to train", choices=tuple(DETECTORS), type=str)
    latent_dim: int = flag(4, "the autoencoders' code size", flags.WIDTHS)
    hidden_units: tuple = flag((32,), "widths of its hidden layers", flags.WIDTHS)
    epochs: int = flag(300, "training epochs", flags.EPOCHS)
    batch_size: int = flag(16, "rows per batch", flags.BATCH_SIZE)
    learning_rate: float = flag(1e-3, "Adam learning rate (peak)", flags.positive)
    false_positive_rate: float = flag(0.05, "target false-positive rate of the threshold", flags.open_unit_interval)
    run_dir: str = flag("runs/anomaly_tabular", "where the runs, results and figures go; rerunning resumes",
                        flags.owned_dir(OUT_DIR))
    export_dir: str = flag("", "if set, the first seed's detectors are exported with the threshold in their card: to "
                               "the path with {detector} replaced by the detector's name (e.g. "
                               "saved_models/breast_cancer_{detector}), else to <export-dir>/<detector>")


def detector_config(settings, detector, seed, normal_index):
    """The training config of `detector` for one seed, on the standardised rows of the normal class."""
    make_config, _ = DETECTORS[detector]
    return dataclasses.replace(
        make_config(settings), data=settings.data, label_column=settings.label_column,
        test_fraction=settings.test_fraction, epochs=settings.epochs, batch_size=settings.batch_size,
        learning_rate=settings.learning_rate, seed=seed, validation_size=settings.validation_size,
        train_digits=(normal_index,), strategy=settings.strategy, cpu_devices=settings.cpu_devices,
        run_dir=str(Path(settings.run_dir) / detector / f"seed{seed}"), export_dir="")


def normal_index(class_names, normal_class):
    """The index of `normal_class` (a name, or an index as text) among `class_names`; a ZooError naming both."""
    from zoo.errors import ZooError

    names = list(class_names or ())
    if normal_class in names:
        return names.index(normal_class)
    if normal_class.isdigit() and int(normal_class) < len(names):
        return int(normal_class)
    raise ZooError(f"--normal-class {normal_class!r} is not one of the classes of the data: "
                   f"{', '.join(names) or 'it has no labels (pass --label-column)'}")


def baseline_scores(normal_rows, test_rows, seed):
    """{name: scores of the test rows} of scikit-learn's detectors with their default settings, fitted on the normal
    training rows standardised by those rows' mean and scale (higher = more anomalous)."""
    from sklearn.ensemble import IsolationForest
    from sklearn.neighbors import LocalOutlierFactor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import OneClassSVM

    detectors = {"isolation_forest": IsolationForest(random_state=seed),
                 "local_outlier_factor": LocalOutlierFactor(novelty=True),
                 "one_class_svm": OneClassSVM()}
    assert tuple(detectors) == BASELINES
    # score_samples: higher = more normal in scikit-learn
    return {name: -make_pipeline(StandardScaler(), detector).fit(normal_rows).score_samples(test_rows)
            for name, detector in detectors.items()}


def evaluate_seed(settings, seed):
    """Trains (or resumes) the zoo's detectors of `seed` and fits the baselines on the same split; returns
    ({detector: AUROC}, {zoo detector: its threshold entry}, {detector: (test scores, is_anomaly)},
    {zoo detector: (model, config, data, checkpoint)})."""
    from zoo import anomaly, pipeline, sources, training

    arrays = sources.load(settings.data, None, None, settings.label_column, settings.test_fraction, seed)
    normal = normal_index(arrays.class_names, settings.normal_class)
    scores, thresholds, trained = {}, {}, {}
    for detector in settings.detectors:
        config = detector_config(settings, detector, seed, normal)
        model, dataset, checkpoint = training.train(config, verbose=0)
        is_anomaly = dataset.test_labels != normal
        score_name = DETECTORS[detector][1]
        scores[detector] = anomaly.scores(model, dataset.test_images, score_name)
        held_out = pipeline.normal_training_images(dataset, config.train_digits)
        thresholds[detector] = anomaly.card_entry(model, *held_out, false_positive_rate=settings.false_positive_rate)
        thresholds[detector].update(anomaly.precision_recall(scores[detector], is_anomaly,
                                                             thresholds[detector]["threshold"]))
        trained[detector] = (model, config, dataset, checkpoint)
    normal_rows = dataset.fixed_training_images(dataset.train_size)
    scores.update(baseline_scores(normal_rows, dataset.test_images, seed))
    aurocs = {name: anomaly.auroc(values, is_anomaly) for name, values in scores.items()}
    return aurocs, thresholds, {name: (values, is_anomaly) for name, values in scores.items()}, trained


def write_table(settings, per_seed, path):
    """results.md: each detector's AUROC (%) per seed, then the mean and standard deviation over the seeds."""
    import numpy as np

    detectors = list(next(iter(per_seed.values())))
    lines = ["| detector | " + " | ".join(f"seed {s}" for s in per_seed) + " | mean +/- std |",
             "|---|" + "---|" * (len(per_seed) + 1)]
    for name in detectors:
        values = np.array([per_seed[s][name] for s in per_seed]) * 100
        lines.append(f"| {name} | " + " | ".join(f"{v:.1f}" for v in values)
                     + f" | **{values.mean():.1f} +/- {values.std(ddof=1) if len(values) > 1 else 0.0:.1f}** |")
    Path(path).write_text("\n".join(lines) + "\n")
    return path


def export_path(export_dir, detector):
    """Where `detector` is exported: `export_dir` with {detector} replaced, else <export_dir>/<detector>."""
    if "{detector}" in export_dir:
        return Path(export_dir.replace("{detector}", detector))
    return Path(export_dir) / detector


def export_detectors(settings, argv, aurocs, thresholds, trained, figures):
    """Exports each trained detector of the first seed to <export-dir>/<detector>, its threshold in the card."""
    from zoo import export, pipeline

    for detector, (model, recipe_config, dataset, checkpoint) in trained.items():
        measured = {"test_auroc": aurocs[detector], "epochs": checkpoint.state["epochs_done"],
                    "train_seconds": round(checkpoint.state["train_seconds"], 1)}
        card = pipeline.card(model, recipe_config, measured, dataset, flags.command_line(PROG, argv),
                             checkpoint.state.get("speed_settings"))
        card["anomaly"] = {**thresholds[detector], "normal_class": settings.normal_class}
        export_dir = export_path(settings.export_dir, detector)
        export.export(model, export_dir, card, figures)
        print(f"exported {export_dir}")


def main(argv=None):
    settings = flags.parse(AnomalyTabularConfig, argv, prog=PROG, description=__doc__)
    return cli.run_distributed(run, settings, argv, "run_dir")


def run(settings, argv):
    """The recipe, in the scope of its --strategy."""
    from zoo import plots, speed
    from zoo.files import owned_dir

    out = owned_dir(settings.run_dir, OUT_DIR)
    per_seed, thresholds = {}, {}
    for index, seed in enumerate(settings.seeds):
        print(f"seed {seed} ...", flush=True)
        aurocs, thresholds[seed], curves, trained = evaluate_seed(settings, seed)
        per_seed[seed] = aurocs
        print("  AUROC " + ", ".join(f"{name} {value:.4f}" for name, value in aurocs.items()), flush=True)
        if index == 0:
            plots.roc_curves({name: (*curve, aurocs[name]) for name, curve in curves.items()}, out / "roc.png",
                             f"{settings.data}, normal class {settings.normal_class}: seed {seed}",
                             legend_title="detector", normal=f"normal ({settings.normal_class}) rows")
            if settings.export_dir:
                export_detectors(settings, argv, aurocs, thresholds[seed], trained, [out / "roc.png"])
    (out / "results.json").write_text(json.dumps({
        "command": flags.command_line(PROG, argv), "cpu": speed.cpu_model(), "settings": flags.settings_dict(settings),
        "auroc": {str(seed): values for seed, values in per_seed.items()},
        "thresholds": {str(seed): entry for seed, entry in thresholds.items()}}, indent=1))
    table = write_table(settings, per_seed, out / "results.md")
    print(Path(table).read_text())
    return per_seed


if __name__ == "__main__":
    cli.run_main(main)
