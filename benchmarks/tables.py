"""Writes every results table of README.md and docs/ from the measured results (benchmarks/results/*.json and
saved_models/*/card.json): `python -m benchmarks.tables` rewrites each table between its markers,
`python -m benchmarks.tables --check-only` changes nothing and exits with status 1 naming every table that is stale.

A table in a markdown file is the text between `<!-- table:NAME -->` and `<!-- /table -->`; NAME is one of
TABLES below, each a function of the results files alone (no TensorFlow). tests/test_docs.py runs the check and
fails on a marker without a generator."""

import dataclasses
import json
import re
import sys
from pathlib import Path

from benchmarks import artifact_table
from zoo import cli, flags
from zoo.errors import ZooError
from zoo.files import atomic_write_text
from zoo.flags import flag

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
MARKED_FILES = ("README.md", "docs/**/*.md")
MARKER = re.compile(r"(<!-- table:(?P<name>[a-z0-9_]+) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S)
OPENING = re.compile(r"<!-- table:([^ >]*) -->")


def read(path):
    """The JSON in `path`; a ZooError naming the file if it is missing or not JSON."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ZooError(f"{path}: cannot be read as JSON ({str(error)[:200]})") from None


def load(name):
    return read(RESULTS / name)


def markdown(headers, rows, note=None):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + (f"\n\n{note}" if note else "")


def code(command):
    return f"`{command}`" if command.startswith("python") else command


def cpu_note(results, extra=""):
    """The command and CPU a results file records, as a line under its table."""
    parts = [f"`{results['command']}`"] if "command" in results else []
    if "cpu" in results:
        parts.append(f"CPU: {results['cpu']}" + (f", {results['cores']} cores" if "cores" in results else ""))
    return "; ".join(parts) + (f"; {extra}" if extra else "") + "."


def artifacts():
    return artifact_table.table()


def artifacts_summary():
    """The README's short table: each committed artifact's headline test numbers and what its endpoints were
    measured to do (the full table is docs/artifacts.md's)."""
    behaviour = load("artifact_behaviour.json")["artifacts"]
    quality = {row["artifact"]: row["frechet_distance"] for row in load("sample_quality.json")["rows"]
               if row["artifact"] and "N(0" not in row["generator"]}
    rows = []
    for card_path in sorted((ROOT / "saved_models").glob("*/card.json")):
        name = card_path.parent.name
        found = read(card_path)
        metrics = {key: entry["value"] for key, entry in found["metrics"].items()}
        if "test_nll_nats" in metrics:
            given = " given the digit" if found["model"] == "cvae" else ""
            headline = f"NLL {metrics['test_nll_nats']:.2f} nats{given} (k = {metrics['nll_importance_samples']})"
        elif "test_bce_nats" in metrics:
            headline = f"BCE {metrics['test_bce_nats']:.2f} nats, squared error {metrics['test_squared_error']:.2f}"
        elif "test_squared_error" in metrics:
            headline = f"squared error {metrics['test_squared_error']:.2f}"
        elif "test_accuracy" in metrics:
            headline = f"accuracy {metrics['test_accuracy']:.4f}"
        elif "test_auroc" in metrics:  # a detector trained on other data: its own test part, named
            headline = f"{found['data']['dataset']} test rows: score AUROC {metrics['test_auroc']:.3f}"
        else:
            headline = "-"
        if f"saved_models/{name}" in quality:
            distance = f"Fréchet distance {quality[f'saved_models/{name}']:.1f}"
            headline = distance if headline == "-" else f"{headline}; {distance}"
        anomaly = found.get("anomaly")
        endpoints = found.get("endpoints", [])
        endpoints = endpoints if isinstance(endpoints, list) else list(endpoints)
        rows.append([f"`{name}`", found["model"], headline, *artifact_table.behaviour_cells(behaviour.get(name, {})),
                     f"{anomaly['threshold']:.1f}" if anomaly else "-", ", ".join(f"`{e}`" for e in endpoints)])
    return markdown(["artifact (`saved_models/`)", "model", "test set (10,000 digits, or its own data's)",
                     "reconstructions read as their digit, %", "rarest digit in 1,000 samples, %", "score threshold",
                     "endpoints"], rows)


def card(artifact):
    return read(ROOT / "saved_models" / artifact / "card.json")


def vae_artifacts():
    """The VAE artifacts side by side, from their cards."""
    rows = []
    for artifact in ("vae_mnist", "two_layer_vae_mnist", "beta_vae_mnist"):
        found = card(artifact)
        config, metrics = found["model_config"], {k: v["value"] for k, v in found["metrics"].items()}
        k = config.get("importance_samples", 1)
        objective = (f"IWAE k = {k}" if k > 1 else "ELBO") + (f", beta = {config['beta']:g}" if config["beta"] != 1
                                                               else "")
        rows.append([f"`saved_models/{artifact}`", found["model"], objective,
                     config.get("gradient_estimator", "pathwise"),
                     f"{metrics['epochs']} ({found['flags']['batch_size']})", f"{metrics['train_seconds'] / 60:.0f}",
                     (found.get("training_speed") or {}).get("cpu", "not recorded"),
                     f"{metrics['test_nll_nats']:.2f} (k = {metrics['nll_importance_samples']})",
                     f"{metrics['test_elbo_nats']:.2f}"])
    return markdown(["artifact", "model", "objective", "gradient", "epochs (batch)", "training, min", "CPU",
                     "test NLL, nats", "test ELBO, nats"], rows,
                    "From the artifacts' cards (`saved_models/*/card.json`), where each one's command is.")


def classic_autoencoders():
    results = load("classic_autoencoders.json")

    def cell(value, fmt="{:.2f}"):
        return "-" if value is None else fmt.format(value) if isinstance(value, float) else str(value)

    rows = [[f"`{row['variant']}`" if row["artifact"] else row["variant"], row["code_size"],
             cell(row["test_bce_nats"]), cell(row["test_squared_error"]), cell(row["masked_squared_error"]),
             cell(row["jacobian_norm"]), cell(row["mean_activation"], "{:.3f}"), cell(row["probe_accuracy"], "{:.4f}"),
             cell(row["seconds_per_epoch"], "{:.1f}"), code(row["command"])] for row in results["rows"]]
    return markdown(["variant", "code size", "test BCE, nats", "test squared error", "masked q=0.5: squared error",
                     "mean \\|\\|J\\|\\|_F", "mean activation", "probe accuracy", "s / epoch", "command"], rows,
                    f"All variants: {results['epochs']} epochs, batch 100, Adam 1e-3 with cosine decay, defaults "
                    "otherwise. From `benchmarks/results/classic_autoencoders.json`.")


def shown_cpu(cpu):
    return cpu.replace(" (an earlier machine; family not recorded)", " (family not recorded)")


def gan_ablation():
    results = load("gan_ablation.json")
    rows = [[row["variant"], row["adds"], f"{row['best_distance']:.1f} ({row['best_epoch']})",
             f"{row['last_distance']:.1f}", f"{row['minutes']:.1f}", shown_cpu(row["cpu"])] for row in results["rows"]]
    return markdown(["variant", "adds", "best distance (epoch)", "last distance", "minutes", "CPU"], rows,
                    "Fréchet distance of 5,000 samples to 10,000 training images held out from GAN training, on the "
                    f"classifier's features; {results['epochs']} epochs each; minutes are those of the row's CPU. "
                    "From `benchmarks/results/gan_ablation.json` (each row's command is in it).")


def sample_quality():
    results = load("sample_quality.json")
    rows = [[row["generator"], f"{row['frechet_distance']:.2f}", f"{row['mean_confidence']:.3f}",
             row["classes_present"], f"{row['largest_class_share']:.3f} / {row['smallest_class_share']:.3f}",
             f"`{row['artifact']}`" if row["artifact"] else "-"] for row in results["rows"]]
    return markdown(["generator", "Fréchet distance (classifier features)", "mean confidence", "classes with >= 1%",
                     "largest / smallest class share", "artifact"], rows,
                    f"{results['samples']:,} samples per generator; reference: the 10,000 MNIST test images. "
                    "From `benchmarks/results/sample_quality.json`; each artifact's command is in its card.")


def training_speed_table(results, with_batch):
    rows = []
    for name, family in results["families"].items():
        row = [name] + ([family["batch_size"]] if with_batch else [])
        rows.append(row + ["on" if family["jit_compile"]["zoo"] else "off",
                           family["median_images_per_s"]["zoo"], family["median_images_per_s"]["plain_keras"],
                           f"{family['zoo_over_plain_keras']:.2f}", f"{family['fraction_of_fp32_matmul_rate']:.2f}"])
    headers = ["family"] + (["batch"] if with_batch else []) + [
        "zoo XLA", "zoo images/s (median)", "plain Keras images/s", "zoo / plain", "share of the fp32 matmul rate"]
    gflops = results["matmul_gflops"]
    return markdown(headers, rows, cpu_note(results, f"fp32 matmul {gflops['float32']} GFLOP/s, bf16 "
                                                     f"{gflops['bfloat16']}"))


def training_speed():
    return training_speed_table(load("training_speed.json"), with_batch=False)


def training_speed_defaults():
    return training_speed_table(load("training_speed_defaults.json"), with_batch=True)


def training_speed_batch_size():
    results = load("training_speed.json")
    sweep = results["batch_size_sweep"]
    rows = [[row["batch_size"], "on" if row["jit_compile"]["zoo"] else "off", row["median_images_per_s"]["zoo"],
             row["median_images_per_s"]["plain_keras"], f"{row['zoo_over_plain_keras']:.2f}",
             f"{row['fraction_of_fp32_matmul_rate']:.2f}"] for row in sweep["rows"]]
    return markdown(["batch", "zoo XLA", "zoo images/s", "plain Keras images/s", "zoo / plain",
                     "share of the fp32 matmul rate"], rows,
                    cpu_note(results, f"{sweep['family']}, {sweep['images_per_pass']:,} images a pass"))


def recipe_speed():
    results = load("recipe_speed.json")
    per_epoch, median = results["seconds_per_epoch"], results["median_seconds_per_epoch"]
    rows = [[label, *(f"{s:.2f}" for s in per_epoch[key]), f"{median[key]:.2f}"]
            for label, key in (("`python -m recipes.vae_mnist` (batch 500)", "recipe"),
                               ("plain Keras script (batch 500)", "plain_keras"))]
    passes = len(per_epoch["recipe"])
    return markdown(["", *(f"seconds per epoch, pass {i + 1}" for i in range(passes)), "median"], rows,
                    cpu_note(results, "recipe speed / plain Keras: "
                                      f"**{results['recipe_speed_over_plain_keras']:.2f}x**"))


def default_recipe():
    rows = []
    for name in ("default_recipe.json", "default_recipe_amd_run1.json", "default_recipe_amd_run2.json"):
        results = load(name)
        for run in results["runs"]["after"]:
            speed = run.get("speed_settings") or {}
            rows.append([f"{run['wall_seconds']:.1f}", f"{run['train_seconds']:.1f}", f"{run['test_nll_nats']:.2f}",
                         ", ".join((["XLA"] if speed.get("xla") else []) + [speed.get("precision", "float32")]),
                         results["cpu"], f"`benchmarks/results/{name}`"])
    return markdown(["wall time, s", "training, s", "test NLL, k = 500, nats", "speed settings", "CPU", "results"],
                    rows, "`python -m recipes.vae_mnist` without flags, run whole by `python -m "
                          "benchmarks.default_recipe`, each from a clean run directory.")


def default_recipe_precision():
    """The default recipe's runs in mixed_bfloat16 ("before") and float32 ("after"), one row per run."""
    results = load("default_recipe_precision.json")
    rows = []
    for side, runs in results["runs"].items():
        for run in runs:
            speed = run["speed_settings"]
            rows.append([", ".join((["XLA"] if speed["xla"] else []) + [speed["precision"]]),
                         f"{run['test_nll_nats']:.2f}", f"{run['val_loss'][0]:.2f}", f"{run['val_loss'][-1]:.2f}",
                         f"{run['train_seconds']:.1f}"])
    return markdown(["speed settings", "test NLL, k = 500, nats", "validation loss after epoch 1",
                     "after the last epoch", "training, s"], rows,
                    f"`{results['command']}`; CPU: {results['cpu']} (no bfloat16 instructions: TensorFlow emulates "
                    "them); the first bfloat16 run shared the CPU with the test suite and the first float32 run was paused for "
                    "20 minutes, so their times are not comparable.")


def evaluation_speed():
    rows = []
    for name in ("evaluation_speed.json", "evaluation_speed_amd.json"):
        results = load(name)
        (new, new_s), (old, old_s) = results["seconds"].items()
        rows.append([results["cpu"], f"{min(new_s):.1f}", f"{min(old_s):.1f}", f"{results['speedup']:.2f}",
                     " / ".join(f"{v:.4f}" for v in results["nll_nats"].values()),
                     f"{results['largest_per_image_difference_nats']:.0e}", f"`benchmarks/results/{name}`"])
    return markdown(["CPU", "zoo estimator, s", "replaced estimator (TFP log_prob), s", "speed-up",
                     "test NLL, nats (zoo / replaced)", "largest per-image difference, nats", "results"], rows,
                    "`python -m benchmarks.evaluation_speed --data-dir ../shared/data/mnist`: k = 500 on all 10,000 "
                    "test images of `saved_models/vae_mnist`, the same draws for both estimators.")


def serving_speed():
    results = load("serving_speed.json")
    names = {"saved_model": "SavedModel signature", "saved_model_xla": "the same under XLA",
             "keras_eager": "Keras model, eager"}
    rows = []
    for endpoint, variants in results["endpoints"].items():
        for i, (name, cell) in enumerate(variants.items()):
            rows.append([endpoint if i == 0 else "", names.get(name, name), f"{cell['p50_ms']:.2f}",
                         f"{cell['p99_ms']:.2f}", f"{cell['images_per_s']:.0f}"])
    batch = results["throughput_batch"]
    return markdown(["endpoint", "called as", "p50 ms (batch 1)", "p99 ms (batch 1)", f"images/s (batch {batch})"],
                    rows, cpu_note(results, f"TensorFlow {results['tensorflow']}; {results['requests']} single "
                                            "requests for the latencies"))


def serving_http():
    results = load("serving_http.json")
    rows = []
    for i, (batch, cell) in enumerate(results["in_process"].items()):
        rows.append(["SavedModel, in process" if i == 0 else "", batch, 1, f"{cell['requests_per_s']:.0f}",
                     f"{cell['images_per_s']:.0f}", f"{cell['p50_ms']:.2f}", f"{cell['p99_ms']:.2f}"])
    for mode, cells in results["http"].items():
        for i, cell in enumerate(cells):
            label = f"HTTP, batching {mode}" + (" (default)" if mode == "on" else "")
            rows.append([label if i == 0 else "", cell["batch"], cell["clients"], f"{cell['requests_per_s']:.0f}",
                         f"{cell['images_per_s']:.0f}", f"{cell['p50_ms']:.2f}", f"{cell['p99_ms']:.2f}"])
    return markdown(["called as", "images per request", "clients", "requests/s", "images/s", "p50 ms", "p99 ms"],
                    rows, cpu_note(results, f"`{results['model']}`, signature `{results['signature']}`"))


def distributed_training():
    results = load("distributed_training.json")
    rows = []
    for name, run in results["runs"].items():
        speed = run.get("speed_settings") or {}
        rows.append([name, ", ".join((["XLA"] if speed.get("xla") else []) + [speed.get("precision", "float32")]),
                     run["images_per_s"], run["seconds_to_target"], run["wall_seconds"],
                     f"{run['val_loss'][-1]:.2f} / {run['test_loss_nats']:.2f}"])
    return markdown(["run", "settings", "training images/s", f"seconds to validation loss {results['target_loss']:.2f}",
                     "wall seconds", "final validation / test loss, nats"], rows, cpu_note(results))


def distributed_tuning():
    results = load("distributed_tuning.json")
    workers = results["settings"]["workers"]
    rows = [["one process", results["one_process_seconds"], results["one_process_seconds"], "-"],
            [f"chief + {workers} workers", results["workers_done_seconds"], results["chief_exit_seconds"],
             ", ".join(f"{k}: {v}" for k, v in results["trials_per_worker"].items())]]
    return markdown(["run", "trials done, s", "process(es) exited, s", "trials per worker"], rows,
                    cpu_note(results, f"{results['cpu_cores']} CPU cores; speed-up "
                                      f"{results['speedup_to_workers_done']}x to the trials' end, "
                                      f"{results['speedup_to_chief_exit']}x to the chief's exit"))


def semi_supervised_speed():
    results = load("semi_supervised_speed.json")
    rows = [[setting, rate, f"{results['seconds_per_epoch'][setting]:.2f}"]
            for setting, rate in results["codes_per_s"].items()]
    return markdown(["setting", "unlabelled codes/s", "seconds per epoch"], rows,
                    f"`python -m benchmarks.semi_supervised_speed`; CPU: {results['cpu']}; TensorFlow "
                    f"{results['tensorflow']}.")


def restore():
    results = load("restore_mnist/results.json")
    table = results["results"]
    columns = list(next(iter(table.values())))
    rows = [[corruption, *(f"{row[c]['psnr_db']:.2f} / {row[c]['ssim']:.3f}" for c in columns)]
            for corruption, row in table.items()]
    return markdown(["corruption", *columns], rows,
                    "PSNR (dB) / SSIM against the clean digit, mean over the 10,000 test digits. "
                    f"`{results['command']}`.")


def mean_std(values, fmt="{:.4f}"):
    mean = sum(values) / len(values)
    if len(values) < 2:
        return fmt.format(mean)
    std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    return f"{fmt.format(mean)} ± {fmt.format(std).lstrip('+')}"


def pretrain():
    """Test accuracy per label budget and method: benchmarks/results/pretrain_mnist/results.json, with the rows of
    all_labels/ (60,000 labels, 150 fine-tuning epochs) and m1_m2_200/ (M1+M2 trained 200 epochs) in place of its
    own."""
    merged = {}
    for name in ("results.json", "all_labels/results.json", "m1_m2_200/results.json"):
        merged.update(load(f"pretrain_mnist/{name}")["results"])
    methods = ("random", "pretrained", "vae_m1", "vae_m1_m2")
    rows = []
    for budget in sorted({int(key.split("/")[0]) for key in merged}):
        cells = []
        seeds = set()
        for method in methods:
            values = [v for key, v in merged.items()
                      if key.split("/")[0] == str(budget) and key.split("/")[2] == method]
            seeds |= {key.split("/")[1] for key in merged if key.startswith(f"{budget}/") and key.endswith(method)}
            cells.append(f"{mean_std(values)} (error {100 * (1 - sum(values) / len(values)):.2f}%)" if values else "-")
        rows.append([budget, len(seeds), *cells])
    return markdown(["labels", "seeds", "random init", "SDAE-pretrained init", "VAE M1 (SVM on codes)", "VAE M1+M2"],
                    rows, "Test accuracy on the 10,000 test digits, mean ± sample standard deviation (ddof = 1) over "
                          "the seeds. From `benchmarks/results/pretrain_mnist/results.json`, `all_labels/` (60,000 "
                          "labels) and `m1_m2_200/` (M1+M2).")


ANOMALY_SCORES = (("conv_ae", "reconstruction"), ("vae", "neg_elbo"), ("vae", "neg_elbo_minus_weighted_png_nats"),
                  ("vae", "neg_elbo_per_png_bit"), ("vae", "neg_elbo_minus_png_nats"), ("vae", "reconstruction"),
                  ("vae", "neg_log_likelihood"))
# Ruff et al. (2018, "Deep One-Class Classification"), Table 1, AUROC (%) per normal digit, means over 10 seeds: a
# published row beside ours, not a result of this repository (see docs/applications.md).
DEEP_SVDD = (98.0, 99.7, 91.7, 91.9, 94.9, 88.5, 98.3, 94.6, 93.9, 96.5)


def anomaly():
    results = load("anomaly_mnist/results.json")
    detectors = results["results"]
    digits = sorted(detectors["conv_ae"], key=int)
    rows = []
    for digit in digits:
        rows.append([digit, *(f"{100 * detectors[d][digit][s]['auroc']:.1f}" for d, s in ANOMALY_SCORES),
                     f"{DEEP_SVDD[int(digit)]:.1f}"])
    means = [sum(detectors[d][digit][s]["auroc"] for digit in digits) / len(digits) for d, s in ANOMALY_SCORES]
    rows.append(["mean", *(f"**{100 * m:.1f}**" for m in means), f"{sum(DEEP_SVDD) / len(DEEP_SVDD):.1f}"])
    correlations = [sum(detectors[d][digit][s]["complexity_correlation"] for digit in digits) / len(digits)
                    for d, s in ANOMALY_SCORES]
    rows.append(["rank correlation with PNG length, held-out normal images (mean)",
                 *(f"{c:+.2f}" for c in correlations), "-"])
    rows.append(["chosen on held-out normal images (digits)",
                 *(sum(detectors[d][digit]["chosen"] == s for digit in digits) for d, s in ANOMALY_SCORES), "-"])
    return markdown(["normal digit", *(f"{d} {s}" for d, s in ANOMALY_SCORES), "Deep SVDD (Ruff et al. 2018)"], rows,
                    f"AUROC (%), one model per digit. `{results['command']}`.")


def data_pipeline():
    results = load("data_pipeline.json")
    folder, mnist = results["image_folder"], results.get("mnist_pipeline")

    def rate(entry):
        return f"{entry['median']:,.0f} ({entry['min']:,.0f} to {entry['max']:,.0f})"

    rows = [[f"image folder of {folder['images']:,} PNG files: read and decoded once", rate(folder["read_images_per_s"])],
            ["its pipeline, an epoch of batches (cache, shuffle, binarization, prefetch)",
             rate(folder["pipeline_images_per_s"])],
            ["training steps of the VAE recipe's network on those batches (batch 100, float32, XLA off)",
             rate(folder["training_images_per_s"])]]
    if mnist:
        rows += [["MNIST through the data layer, an epoch of training batches", rate(mnist["now_images_per_s"])],
                 ["MNIST through the code before it", rate(mnist["before_images_per_s"])]]
    same = (" The first 50 MNIST training batches of both are the same bit for bit."
            if mnist and mnist["same_batches_bit_for_bit_50"] else "")
    return markdown(["what", "images per second, median (min to max)"], rows,
                    f"The pipeline outruns the training step {folder['pipeline_over_training']:.1f} times.{same} "
                    + cpu_note(results))


def anomaly_tabular():
    results = load("anomaly_tabular/results.json")
    per_seed = results["auroc"]
    seeds = sorted(per_seed, key=int)
    detectors = list(per_seed[seeds[0]])
    best_baseline = max((d for d in detectors if d in TABULAR_BASELINES),
                        key=lambda d: sum(per_seed[s][d] for s in seeds))
    rows = []
    for detector in detectors:
        values = [100 * per_seed[seed][detector] for seed in seeds]
        differences = [100 * (per_seed[seed][detector] - per_seed[seed][best_baseline]) for seed in seeds]
        paired = "-" if detector == best_baseline else mean_std(differences, "{:+.1f}")
        rows.append([detector, *(f"{v:.1f}" for v in values), mean_std(values, "{:.1f}"), paired])
    settings = results["settings"]
    return markdown(["detector", *(f"seed {seed}" for seed in seeds), "mean ± std",
                     f"paired difference to {best_baseline}"], rows,
                    f"AUROC (%) on the held-out rows ({100 * settings['test_fraction']:.0f}% of each class per seed), "
                    f"normal class {settings['normal_class']}; " + cpu_note(results))


TABULAR_BASELINES = ("isolation_forest", "local_outlier_factor", "one_class_svm")

AUTOREC_SETTINGS = {"biases": "regularization", "biased_mf": "l2", "i_autorec": "(l2, input_dropout)",
                    "u_autorec": "(l2, input_dropout)"}


def autorec():
    results = load("autorec_movielens/results.json")
    fits = results["results"]
    splits = sorted({int(key.split("/")[0]) for key in fits})
    models = list(dict.fromkeys(key.split("/")[1] for key in fits))
    rows = []
    for model in models:
        chosen, tests = [], []
        for split in splits:
            candidates = {key.split("/", 2)[2]: fit for key, fit in fits.items()
                          if key.startswith(f"{split}/{model}/")}
            best = min(candidates, key=lambda name: candidates[name]["validation"])
            chosen.append(best)
            tests.append(candidates[best]["test"])
        shown = [f"({name})" if "," in name else name for name in sorted(set(chosen), key=chosen.index)]
        picked = "-" if set(chosen) == {"None"} else f"{AUTOREC_SETTINGS.get(model, 'settings')} = " + (
            f"{shown[0]} on every split" if len(shown) == 1 else " or ".join(shown))
        rows.append([model, picked, mean_std(tests)])
    return markdown(["model", "settings chosen on the splits' validation parts", f"test RMSE, mean ± std over "
                     f"{len(splits)} splits"], rows,
                    f"`{results['command']}`; every fit, with its validation and test RMSE, is in "
                    "`benchmarks/results/autorec_movielens/results.json`.")


TABLES = {fn.__name__: fn for fn in (
    artifacts, artifacts_summary, vae_artifacts, classic_autoencoders, gan_ablation, sample_quality, training_speed,
    training_speed_defaults, training_speed_batch_size, recipe_speed, default_recipe, default_recipe_precision,
    evaluation_speed, serving_speed,
    serving_http, distributed_training, distributed_tuning, semi_supervised_speed, restore, pretrain, anomaly,
    anomaly_tabular, autorec, data_pipeline)}


def marked_files():
    files = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
    return [path for path in files if path.is_file()]


def unknown_markers():
    """(file, name) of every opening marker that names no generator."""
    return [(path.relative_to(ROOT), name) for path in marked_files()
            for name in OPENING.findall(path.read_text()) if name not in TABLES]


def rewrite(text, names=None):
    """The text with every marked table regenerated (or those of `names`), and the names of the tables that changed."""
    stale = []

    def replace(match):
        if names is not None and match["name"] not in names:
            return match[0]
        try:
            table = TABLES[match["name"]]()
        except (KeyError, IndexError, TypeError, ValueError) as error:  # a results file without what the table shows
            raise ZooError(f"table {match['name']}: its results lack or malform an entry ({type(error).__name__}: "
                           f"{str(error)[:200]})") from None
        body = "\n" + table.strip("\n") + "\n\n"  # blank lines: Python-Markdown ends HTML there
        if body != match["body"]:
            stale.append(match["name"])
        return match[1] + body + match[4]

    return MARKER.sub(replace, text), stale


@dataclasses.dataclass
class TablesConfig:
    """Flags of `python -m benchmarks.tables`."""

    tables: tuple = flag(tuple(TABLES), "the tables to write or check (default: all)", choices=tuple(TABLES))
    check_only: bool = flag(False, "change nothing; exit 1 naming every stale table")


def main(argv=None):
    settings = flags.parse(TablesConfig, argv, prog="python -m benchmarks.tables", description=__doc__)
    unknown = unknown_markers()
    for path, name in unknown:
        print(f"{path}: <!-- table:{name} --> names no table (known: {', '.join(sorted(TABLES))})", file=sys.stderr)
    stale_any, rewritten = False, {}
    for path in marked_files():  # every table is made before any file is written: an error leaves all as they were
        new, stale = rewrite(path.read_text(), settings.tables)
        for name in stale:
            stale_any = True
            print(f"{path.relative_to(ROOT)}: table {name} is {'stale' if settings.check_only else 'rewritten'}",
                  file=sys.stderr if settings.check_only else sys.stdout)
        if stale and not settings.check_only:
            rewritten[path] = new
    for path, new in rewritten.items():
        atomic_write_text(path, new)
    if settings.check_only and (stale_any or unknown):
        print("run `python -m benchmarks.tables` to rewrite them", file=sys.stderr)
        return 1
    return 2 if unknown else 0


if __name__ == "__main__":
    cli.run_main(lambda: sys.exit(main()))
