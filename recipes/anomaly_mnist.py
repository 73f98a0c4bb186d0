"""One-class anomaly detection on MNIST: `python -m recipes.anomaly_mnist --help`.

The one-class protocol of Ruff et al., 2018 ("Deep One-Class Classification"): for each digit, a
detector trains on the training images of that digit only, then scores the whole test set, where
that digit is normal and the other nine are anomalies. Detectors: a convolutional autoencoder
(score: reconstruction error) and the VAE (scores: reconstruction error, -ELBO, -log p(x)). Reports
AUROC per digit and score, and, at a threshold set on held-out normal training images for a target
false-positive rate, the precision and recall on the test set. Each training is a run of the
training core in <run-dir>/<detector>/digit<d> (rerunning resumes and reuses the scores of finished runs
while the settings and the data are the same); results.json, results.md, ROC
curves and the most and least anomalous test digits go to <run-dir>.
"""

import dataclasses
import json
from pathlib import Path

from zoo import cli, config, flags
from zoo.flags import flag

PROG = "python -m recipes.anomaly_mnist"


def _conv_ae():
    from recipes.ae_mnist import AEMnistConfig

    return AEMnistConfig(arch="conv", hidden_units=(256,), latent_dim=32)


def _vae():
    from recipes.vae_mnist import VAEMnistConfig

    return VAEMnistConfig(batch_size=100, learning_rate=1e-3)  # the settings its table was measured with


# name -> (the recipe config it trains with, its scores; the first is the one thresholded)
DETECTORS = {
    "conv_ae": (_conv_ae, ("reconstruction",)),
    "vae": (_vae, ("neg_elbo", "reconstruction", "neg_log_likelihood")),
}


@dataclasses.dataclass
class AnomalyMnistConfig(config.DistributeFlags):
    """Flags of `python -m recipes.anomaly_mnist`."""

    data_dir: str = flag(None, f"directory of the MNIST IDX files (default: ${config.DATA_DIR_ENV}, then "
                               "tensorflow-datasets)", flags.existing_dir)
    digits: tuple = flag(tuple(range(10)), "normal digits, one experiment each", flags.digits)
    detectors: tuple = flag(tuple(DETECTORS), "detectors to train", type=str)
    epochs: int = flag(30, "training epochs of each detector on each digit", flags.EPOCHS)
    validation_size: int = flag(10000, "training images held out (about a tenth are of the normal digit: the "
                                       "threshold is set on those)", flags.count(1, 50_000))
    false_positive_rate: float = flag(0.05, "target false-positive rate of the threshold", flags.open_unit_interval)
    likelihood_samples: int = flag(100, "importance samples k of the VAE's -log p(x) score", flags.count(1, 100_000))
    seed: int = flag(0, "seed of shuffling, initialization and noise", flags.SEED)
    run_dir: str = flag("runs/anomaly_mnist", "where the runs, results and figures go; rerunning resumes")

    def check(self):
        unknown = [d for d in self.detectors if d not in DETECTORS]
        if unknown or not self.detectors:
            return f"--detectors takes some of {', '.join(DETECTORS)}; received --detectors={' '.join(self.detectors)}"
        return super().check()


def detector_config(settings, detector, digit):
    """The recipe config that trains `detector` on the training images of `digit`."""
    make_config, _ = DETECTORS[detector]
    return dataclasses.replace(make_config(), data_dir=settings.data_dir, epochs=settings.epochs,
                               seed=settings.seed, validation_size=settings.validation_size, train_digits=(digit,),
                               strategy=settings.strategy, cpu_devices=settings.cpu_devices,
                               run_dir=str(Path(settings.run_dir) / detector / f"digit{digit}"), export_dir="")


def evaluate_detector(settings, detector, digit):
    """Trains (or resumes) one detector on one digit; returns its metrics, its scores of the test set and the
    data. Both are kept beside the run (anomaly.json) and reused by a rerun with the same settings and data."""
    import numpy as np

    from zoo import anomaly, pipeline, training
    from zoo.files import ResultStore

    config = detector_config(settings, detector, digit)
    model, dataset, _ = training.train(config, verbose=0)
    store = ResultStore(Path(config.run_dir) / "anomaly.json",
                        {"epochs": config.epochs, "false_positive_rate": settings.false_positive_rate,
                         "likelihood_samples": settings.likelihood_samples}, dataset.fingerprint,
                        other_settings="recompute")
    if "scores" not in store:
        normal_images, _ = pipeline.normal_training_images(dataset, config.train_digits)
        is_anomaly = dataset.test_labels != digit
        _, score_names = DETECTORS[detector]
        results, test_scores = {}, {}
        for name in score_names:
            options = {"samples": settings.likelihood_samples} if name == "neg_log_likelihood" else {}
            test_scores[name] = anomaly.scores(model, dataset.test_images, name, **options)
            results[name] = {"auroc": anomaly.auroc(test_scores[name], is_anomaly)}
        primary = score_names[0]
        threshold = anomaly.threshold_at_false_positive_rate(
            anomaly.scores(model, normal_images, primary), settings.false_positive_rate)
        results[primary].update(threshold=threshold, held_out_normal_images=len(normal_images),
                                **anomaly.precision_recall(test_scores[primary], is_anomaly, threshold))
        store.put("scores", {"results": results, "test_scores": {k: v.tolist() for k, v in test_scores.items()}})
    saved = store["scores"]
    return saved["results"], {k: np.asarray(v) for k, v in saved["test_scores"].items()}, dataset


def write_table(settings, results, path):
    """results.md: AUROC (%) per digit and detector score, with the mean, beside Deep SVDD's published row."""
    import numpy as np

    columns = [(d, s) for d in settings.detectors for s in DETECTORS[d][1]]
    header = ["normal digit", *[f"{d} {s}" for d, s in columns], DEEP_SVDD["label"]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for digit in settings.digits:
        cells = [f"{100 * results[d][str(digit)][s]['auroc']:.1f}" for d, s in columns]
        lines.append(f"| {digit} | " + " | ".join(cells) + f" | {DEEP_SVDD['auroc'][digit]} |")
    means = [f"**{100 * np.mean([results[d][str(g)][s]['auroc'] for g in settings.digits]):.1f}**" for d, s in columns]
    reference_mean = np.mean([DEEP_SVDD["auroc"][g] for g in settings.digits])
    lines.append("| mean | " + " | ".join(means) + f" | {reference_mean:.1f} |")
    Path(path).write_text("\n".join(lines) + "\n")
    return path


# One-class MNIST AUROC (%) of Deep SVDD, Ruff et al., 2018, "Deep One-Class Classification" (ICML), Table 1,
# means over 10 seeds. Read from two later copies of the table that agree with each other; see the README.
DEEP_SVDD = {"label": "Deep SVDD (Ruff et al. 2018)",
             "auroc": [98.0, 99.7, 91.7, 91.9, 94.9, 88.5, 98.3, 94.6, 93.9, 96.5]}


def main(argv=None):
    settings = flags.parse(AnomalyMnistConfig, argv, prog=PROG, description=__doc__)
    return cli.run_distributed(run, settings, argv, 'run_dir')


def run(settings, argv):
    """The recipe, in the scope of its --strategy."""
    import numpy as np

    from zoo import plots

    out = Path(settings.run_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for detector in settings.detectors:
        results[detector], curves, ranked = {}, {}, []
        for digit in settings.digits:
            print(f"{detector}, normal digit {digit} ...", flush=True)
            metrics, test_scores, dataset = evaluate_detector(settings, detector, digit)
            results[detector][str(digit)] = metrics
            primary = DETECTORS[detector][1][0]
            print("  AUROC " + ", ".join(f"{s} {m['auroc']:.4f}" for s, m in metrics.items()), flush=True)
            curves[digit] = (test_scores[primary], dataset.test_labels != digit, metrics[primary]["auroc"])
            ranked.append(np.argsort(test_scores[primary]))
        plots.roc_curves(curves, out / f"{detector}_roc.png", f"{detector}: one-class MNIST, score {primary}")
        plots.ranked_images(dataset.test_images, ranked, settings.digits, out / f"{detector}_ranked.png",
                            f"{detector}: least (left) and most (right) anomalous test digits per normal digit")
    (out / "results.json").write_text(json.dumps({"command": flags.command_line(PROG, argv),
                                                  "settings": dataclasses.asdict(settings),
                                                  "results": results}, indent=1))
    table = write_table(settings, results, out / "results.md")
    print(Path(table).read_text())


if __name__ == "__main__":
    cli.run_main(main)
