"""One-class anomaly detection on MNIST: `python -m recipes.anomaly_mnist --help`.

The one-class protocol of Ruff et al., 2018 ("Deep One-Class Classification"): for each digit, a
detector trains on the training images of that digit only, then scores the whole test set, where
that digit is normal and the other nine are anomalies. Detectors: a convolutional autoencoder
(score: reconstruction error) and the VAE (scores: -ELBO, -ELBO set against the image's PNG length,
reconstruction error, -log p(x)); -ELBO minus w times the PNG length has w set on held-out normal images
(`zoo.anomaly.decorrelating_weight`). Reports AUROC per digit and score. Each detector's score is chosen on
held-out normal training images alone: the one least rank-correlated with the images' complexity
(`zoo.anomaly.complexity_correlation`); at a threshold set on the same images for a target
false-positive rate, its precision and recall on the test set are reported, and with --export-dir each
detector is exported with that score as its `score` endpoint and the threshold in its card. Each training is a run of the
training core in <run-dir>/<detector>/digit<d> (rerunning resumes and reuses the scores of finished runs
while the run's definition, its weights, the settings and the data are the same, and the scores read back are whole); results.json, results.md, ROC
curves and the most and least anomalous test digits go to <run-dir>.
"""

import dataclasses
import json
from pathlib import Path

from zoo import cli, config, flags
from zoo.flags import flag

PROG = "python -m recipes.anomaly_mnist"
OUT_DIR = f"the output dir of {PROG}"


def _conv_ae():
    from recipes.ae_mnist import AEMnistConfig

    return AEMnistConfig(arch="conv", hidden_units=(256,), latent_dim=32)


def _vae():
    from recipes.vae_mnist import VAEMnistConfig

    return VAEMnistConfig(batch_size=100, learning_rate=1e-3)  # the settings its table was measured with


# The scores an exported detector's `score` endpoint can compute (a VAE's ANOMALY_SCORES; the AE's reconstruction).
ENDPOINT_SCORES = {"conv_ae": ("reconstruction",),
                   "vae": ("neg_elbo", "neg_elbo_minus_weighted_png_nats", "neg_elbo_per_png_bit", "neg_elbo_minus_png_nats")}
# name -> (the recipe config it trains with, the scores it is measured by: those it chooses from, then the others)
DETECTORS = {
    "conv_ae": (_conv_ae, ENDPOINT_SCORES["conv_ae"]),
    "vae": (_vae, (*ENDPOINT_SCORES["vae"], "reconstruction", "neg_log_likelihood")),
}


@dataclasses.dataclass
class AnomalyMnistConfig(config.DataFlags, config.DistributeFlags):
    """Flags of `python -m recipes.anomaly_mnist`: MNIST by default, or other labelled images (--data)."""

    digits: tuple = flag(tuple(range(10)), "normal digits (or class indices of other --data), one experiment each",
                         flags.digits)
    detectors: tuple = flag(tuple(DETECTORS), "detectors to train", type=str)
    epochs: int = flag(30, "training epochs of each detector on each digit", flags.EPOCHS)
    validation_size: int = flag(10000, "training images held out (about a tenth are of the normal digit: the "
                                       "threshold is set on those)", flags.count(1, 50_000))
    false_positive_rate: float = flag(0.05, "target false-positive rate of the threshold", flags.open_unit_interval)
    likelihood_samples: int = flag(100, "importance samples k of the VAE's -log p(x) score", flags.count(1, 100_000))
    seed: int = flag(0, "seed of shuffling, initialization and noise", flags.SEED)
    run_dir: str = flag("runs/anomaly_mnist", "where the runs, results and figures go; rerunning resumes",
                         flags.owned_dir(OUT_DIR))
    export_dir: str = flag("", "if set, each detector is exported to <export-dir>/<detector>/digit<d> with its chosen "
                               "score as the `score` endpoint and the threshold in its card")

    def check(self):
        unknown = [d for d in self.detectors if d not in DETECTORS]
        if unknown or not self.detectors:
            return f"--detectors takes some of {', '.join(DETECTORS)}; received --detectors={' '.join(self.detectors)}"
        return super().check()


def detector_config(settings, detector, digit):
    """The recipe config that trains `detector` on the training images of `digit`."""
    make_config, _ = DETECTORS[detector]
    return dataclasses.replace(make_config(), **settings.data_settings(), epochs=settings.epochs,
                               seed=settings.seed, validation_size=settings.validation_size, train_digits=(digit,),
                               strategy=settings.strategy, cpu_devices=settings.cpu_devices,
                               run_dir=str(Path(settings.run_dir) / detector / f"digit{digit}"), export_dir="")


def choose_score(results, detector):
    """The detector's score least rank-correlated with complexity on held-out normal images (among those its
    `score` endpoint can compute)."""
    return min(ENDPOINT_SCORES[detector], key=lambda name: abs(results[name]["complexity_correlation"]))


def stored_scores_schema(names, test_images):
    """What anomaly.json's entry must be (zoo.files.fault): each score's measures, the chosen score, and each score of
    every test image, finite."""
    from zoo.files import ListOf, Number, Record

    measures = Record({"auroc": Number(0, 1), "complexity_correlation": Number(-1, 1), "threshold": Number(),
                       "held_out_normal_images": Number(1, integer=True), "precision": Number(0, 1),
                       "recall": Number(0, 1), "false_positive_rate": Number(0, 1)})
    results = Record({**{name: measures for name in names}, "chosen": set(names), "complexity_weight": Number()},
                     optional=("complexity_weight",))
    scores = Record({name: ListOf(Number(), test_images, test_images) for name in names})
    return Record({"results": results, "test_scores": scores})


def evaluate_detector(settings, detector, digit):
    """Trains (or resumes) one detector on one digit; returns its metrics, its scores of the test set and the
    data. Both are kept beside the run (anomaly.json) and reused by a rerun with the same settings and data."""
    import numpy as np

    from zoo import anomaly, pipeline, training
    from zoo.files import ResultStore

    config = detector_config(settings, detector, digit)
    model, dataset, checkpoint = training.train(config, verbose=0)
    store = ResultStore(Path(config.run_dir) / "anomaly.json",
                        {**pipeline.trained_settings(checkpoint, model),
                         "false_positive_rate": settings.false_positive_rate,
                         "likelihood_samples": settings.likelihood_samples, "scores": DETECTORS[detector][1]},
                        dataset.fingerprint, other_settings="recompute",
                        validate=stored_scores_schema(DETECTORS[detector][1], len(dataset.test_images)))
    normal_images, normal_description = pipeline.normal_training_images(dataset, config.train_digits)
    if "scores" not in store:
        is_anomaly = dataset.test_labels != digit
        results, test_scores = {}, {}
        if hasattr(model, "complexity_weight"):
            model.complexity_weight = anomaly.decorrelating_weight(anomaly.scores(model, normal_images, "neg_elbo"),
                                                                   normal_images)
            results["complexity_weight"] = model.complexity_weight
        for name in DETECTORS[detector][1]:
            options = {"samples": settings.likelihood_samples} if name == "neg_log_likelihood" else {}
            test_scores[name] = anomaly.scores(model, dataset.test_images, name, **options)
            normal_scores = anomaly.scores(model, normal_images, name, **options)
            threshold = anomaly.threshold_at_false_positive_rate(normal_scores, settings.false_positive_rate)
            results[name] = {"auroc": anomaly.auroc(test_scores[name], is_anomaly),
                             "complexity_correlation": anomaly.complexity_correlation(normal_scores, normal_images),
                             "threshold": threshold, "held_out_normal_images": len(normal_images),
                             **anomaly.precision_recall(test_scores[name], is_anomaly, threshold)}
        results["chosen"] = choose_score(results, detector)
        store.put("scores", {"results": results, "test_scores": {k: v.tolist() for k, v in test_scores.items()}})
    saved = store["scores"]
    if "complexity_weight" in saved["results"]:
        model.complexity_weight = saved["results"]["complexity_weight"]
    if settings.export_dir:
        export_detector(settings, detector, digit, model, config, dataset, checkpoint, saved["results"]["chosen"],
                        (normal_images, normal_description))
    return saved["results"], {k: np.asarray(v) for k, v in saved["test_scores"].items()}, dataset


def export_detector(settings, detector, digit, model, config, dataset, checkpoint, score_name, normal):
    """Exports the detector with `score_name` as its `score` endpoint and the card's threshold set on `normal`
    = (held-out normal images, their description) for --false-positive-rate."""
    from zoo import anomaly, export, pipeline

    if hasattr(model, "anomaly_score_name"):
        model.anomaly_score_name = score_name
    measured = {"epochs": checkpoint.state["epochs_done"], "train_seconds": round(checkpoint.state["train_seconds"], 1)}
    card = pipeline.card(model, config, measured, dataset, flags.command_line(PROG),
                         checkpoint.state.get("speed_settings"))
    card["anomaly"] = anomaly.card_entry(model, *normal, false_positive_rate=settings.false_positive_rate)
    card["anomaly"]["normal_digit"] = digit
    export.export(model, Path(settings.export_dir) / detector / f"digit{digit}", card)


def write_table(settings, results, path):
    """results.md: AUROC (%) per digit and detector score, with the mean, beside Deep SVDD's published row; then each
    score's mean rank correlation with complexity on held-out normal images, and the score each detector chose."""
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
    correlations = [np.mean([results[d][str(g)][s]["complexity_correlation"] for g in settings.digits])
                    for d, s in columns]
    lines.append("| rank correlation with PNG length, held-out normal images (mean) | "
                 + " | ".join(f"{rho:+.2f}" for rho in correlations) + " | - |")
    lines.append("| chosen on held-out normal images (digits) | " + " | ".join(
        str(sum(results[d][str(g)]["chosen"] == s for g in settings.digits)) for d, s in columns) + " | - |")
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
    from zoo.files import owned_dir

    out = owned_dir(settings.run_dir, OUT_DIR)
    results = {}
    for detector in settings.detectors:
        results[detector], curves, ranked = {}, {}, []
        for digit in settings.digits:
            print(f"{detector}, normal digit {digit} ...", flush=True)
            metrics, test_scores, dataset = evaluate_detector(settings, detector, digit)
            results[detector][str(digit)] = metrics
            primary = metrics["chosen"]
            print("  AUROC " + ", ".join(f"{s} {metrics[s]['auroc']:.4f}" for s in DETECTORS[detector][1])
                  + f"; chosen on held-out normal images: {primary}", flush=True)
            curves[digit] = (test_scores[primary], dataset.test_labels != digit, metrics[primary]["auroc"])
            ranked.append(np.argsort(test_scores[primary]))
        plots.roc_curves(curves, out / f"{detector}_roc.png", f"{detector}: one-class MNIST, chosen scores")
        plots.ranked_images(dataset.test_images, ranked, settings.digits, out / f"{detector}_ranked.png",
                            f"{detector}: least (left) and most (right) anomalous test digits per normal digit")
    (out / "results.json").write_text(json.dumps({"command": flags.command_line(PROG, argv),
                                                  "settings": flags.settings_dict(settings),
                                                  "results": results}, indent=1))
    table = write_table(settings, results, out / "results.md")
    print(Path(table).read_text())


if __name__ == "__main__":
    cli.run_main(main)
