"""Anomaly detection on a table of numbers: `python -m recipes.anomaly_tabular --help`.

The semi-supervised protocol of the ODDS benchmarks: the detectors train on the normal class's training rows only
and score the held-out test rows of every class; AUROC says how well the score ranks the other classes' rows above
the normal ones. With no flags: scikit-learn's Wisconsin breast cancer data (569 rows of 30 measurements; benign
normal, malignant anomalous), 5 seeds, each its own stratified split.

Detectors: the zoo's dense autoencoder (score: squared reconstruction error of the standardised row) and, on the
same splits and the same standardisation, scikit-learn's IsolationForest, LocalOutlierFactor (novelty) and
OneClassSVM with their default settings. The autoencoder's settings are the flags' (nothing is tuned on anomalies or
test rows); its threshold is set on held-out normal training rows for --false-positive-rate. Each seed's
autoencoder is a run of the training core in <run-dir>/ae/seed<s> (rerunning resumes); results.json, results.md and
the ROC curves of the first seed go to <run-dir>. With --export-dir the first seed's autoencoder is exported: its
`score` endpoint takes raw rows (it standardises them itself) and its card holds the threshold.
"""

import dataclasses
import json
from pathlib import Path

from zoo import cli, config, data_spec, flags
from zoo.flags import flag

PROG = "python -m recipes.anomaly_tabular"
OUT_DIR = f"the output dir of {PROG}"
BASELINES = ("isolation_forest", "local_outlier_factor", "one_class_svm")


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
    latent_dim: int = flag(4, "the autoencoder's code size", flags.WIDTHS)
    hidden_units: tuple = flag((32,), "widths of its hidden layers", flags.WIDTHS)
    epochs: int = flag(300, "training epochs", flags.EPOCHS)
    batch_size: int = flag(16, "rows per batch", flags.BATCH_SIZE)
    learning_rate: float = flag(1e-3, "Adam learning rate (peak)", flags.positive)
    false_positive_rate: float = flag(0.05, "target false-positive rate of the threshold", flags.open_unit_interval)
    run_dir: str = flag("runs/anomaly_tabular", "where the runs, results and figures go; rerunning resumes",
                        flags.owned_dir(OUT_DIR))
    export_dir: str = flag("", "if set, the first seed's autoencoder is exported here with the threshold in its card")


def autoencoder_config(settings, seed, normal_index):
    """The training config of the autoencoder of one seed: a dense AE with a linear output (squared error) on the
    standardised rows of the normal class."""
    from recipes.ae_mnist import AEMnistConfig

    return AEMnistConfig(
        data=settings.data, label_column=settings.label_column, test_fraction=settings.test_fraction,
        binarization="none", output_activation="linear", latent_dim=settings.latent_dim,
        hidden_units=settings.hidden_units, epochs=settings.epochs, batch_size=settings.batch_size,
        learning_rate=settings.learning_rate, seed=seed, validation_size=settings.validation_size,
        train_digits=(normal_index,), strategy=settings.strategy, cpu_devices=settings.cpu_devices,
        run_dir=str(Path(settings.run_dir) / "ae" / f"seed{seed}"), export_dir="")


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
    """Trains (or resumes) the autoencoder of `seed` and fits the baselines on the same split; returns
    ({detector: AUROC}, the autoencoder's threshold entry, (test scores, is_anomaly) per detector, the trained
    model, its config, data and checkpoint)."""
    from zoo import anomaly, pipeline, sources, training

    arrays = sources.load(settings.data, None, None, settings.label_column, settings.test_fraction, seed)
    normal = normal_index(arrays.class_names, settings.normal_class)
    ae_config = autoencoder_config(settings, seed, normal)
    model, dataset, checkpoint = training.train(ae_config, verbose=0)
    is_anomaly = dataset.test_labels != normal
    scores = {"autoencoder": anomaly.scores(model, dataset.test_images, "reconstruction")}
    normal_rows = dataset.fixed_training_images(dataset.train_size)
    scores.update(baseline_scores(normal_rows, dataset.test_images, seed))
    aurocs = {name: anomaly.auroc(values, is_anomaly) for name, values in scores.items()}
    held_out = pipeline.normal_training_images(dataset, ae_config.train_digits)
    threshold = anomaly.card_entry(model, *held_out, false_positive_rate=settings.false_positive_rate)
    threshold.update(anomaly.precision_recall(scores["autoencoder"], is_anomaly, threshold["threshold"]))
    return aurocs, threshold, {name: (values, is_anomaly) for name, values in scores.items()}, (
        model, ae_config, dataset, checkpoint)


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


def main(argv=None):
    settings = flags.parse(AnomalyTabularConfig, argv, prog=PROG, description=__doc__)
    return cli.run_distributed(run, settings, argv, "run_dir")


def run(settings, argv):
    """The recipe, in the scope of its --strategy."""
    from zoo import export, pipeline, plots
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
                             f"{settings.data}, normal class {settings.normal_class}: seed {seed}")
            if settings.export_dir:
                model, ae_config, dataset, checkpoint = trained
                measured = {"test_auroc": aurocs["autoencoder"], "epochs": checkpoint.state["epochs_done"],
                            "train_seconds": round(checkpoint.state["train_seconds"], 1)}
                card = pipeline.card(model, ae_config, measured, dataset, flags.command_line(PROG, argv),
                                     checkpoint.state.get("speed_settings"))
                card["anomaly"] = {**thresholds[seed], "normal_class": settings.normal_class}
                export.export(model, settings.export_dir, card, [out / "roc.png"])
                print(f"exported {settings.export_dir}")
    (out / "results.json").write_text(json.dumps({
        "command": flags.command_line(PROG, argv), "settings": flags.settings_dict(settings),
        "auroc": {str(seed): values for seed, values in per_seed.items()},
        "autoencoder_threshold": {str(seed): entry for seed, entry in thresholds.items()}}, indent=1))
    table = write_table(settings, per_seed, out / "results.md")
    print(Path(table).read_text())
    return per_seed


if __name__ == "__main__":
    cli.run_main(main)
