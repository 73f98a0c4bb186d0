"""What each GAN option does to the Fréchet distance: one run of the GAN recipe per variant, same budget.

    python -m benchmarks.gan_ablation --data-dir ../shared/data/mnist [--epochs 8] [--variants base ema ...]

Every variant trains `python -m recipes.gan_mnist` for --epochs epochs on the training images minus 10,000 held
out, and measures the Fréchet distance of 5,000 samples to those held-out images on the committed classifier's
features every --frechet-every epochs (the recipe's --frechet-every). The table gives each variant's best and last
distance, the epoch of the best and the training minutes; the command of each run is in the json. Runs go to
<run-dir>/<variant> and resume; results: benchmarks/results/gan_ablation.{json,md}, where the rows of variants not
run this time are kept if they were measured on the same data with the flags the variant runs with now.
"""

import dataclasses
import json
import shlex
from pathlib import Path

from zoo import cli, config, flags
from zoo.files import Number, Record, atomic_write_text, fault, present, read_json
from zoo.flags import flag

PROG = "python -m benchmarks.gan_ablation"
RUNS_DIR = f"the runs dir of {PROG}"
RESULTS = Path(__file__).parent / "results" / "gan_ablation"
# name -> (what it adds to the course's GAN, its recipe flags)
VARIANTS = {
    "base": ("the course's GAN (non-saturating loss, Adam 2e-4 for both)", []),
    "ema": ("+ moving average of the generator, decay 0.999", ["--ema-decay", "0.999"]),
    "spectral_norm": ("+ spectral normalization in D", ["--spectral-norm"]),
    "hinge": ("+ hinge loss", ["--hinge"]),
    "ttur": ("+ TTUR: G at 1e-4, D at 4e-4", ["--learning-rate", "1e-4", "--discriminator-lr-ratio", "4"]),
    "all": ("all four", ["--ema-decay", "0.999", "--spectral-norm", "--hinge", "--learning-rate", "1e-4",
                        "--discriminator-lr-ratio", "4"]),
    # On top of the hinge loss, the one option above that helped at this budget:
    "hinge_batch_norm": ("hinge loss + batch norm in D (DCGAN's discriminator)", ["--hinge", "--discriminator-batch-norm"]),
    "hinge_faster_d": ("hinge loss + D at twice G's rate (4e-4, G 2e-4)", ["--hinge", "--discriminator-lr-ratio", "2"]),
    "hinge_higher_lr": ("hinge loss + Adam 4e-4 for both", ["--hinge", "--learning-rate", "4e-4"]),
    # Batch norm in D with each of the two above:
    "hinge_batch_norm_faster_d": ("hinge loss + batch norm in D + D at twice G's rate",
                                  ["--hinge", "--discriminator-batch-norm", "--discriminator-lr-ratio", "2"]),
    "hinge_batch_norm_higher_lr": ("hinge loss + batch norm in D + Adam 4e-4 for both",
                                   ["--hinge", "--discriminator-batch-norm", "--learning-rate", "4e-4"]),
}


@dataclasses.dataclass
class GANAblationConfig:
    data_dir: str = flag(None, f"directory of the MNIST IDX files (default: ${config.DATA_DIR_ENV})", flags.existing_dir)
    variants: tuple = flag(tuple(VARIANTS), "variants to run", choices=tuple(VARIANTS))
    epochs: int = flag(8, "training epochs of every variant", flags.EPOCHS)
    frechet_every: int = flag(2, "epochs between Fréchet measurements", flags.count(1, 10_000))
    run_dir: str = flag("runs/gan_ablation", "where the runs go; rerunning resumes", flags.owned_dir(RUNS_DIR))
    results: str = flag(str(RESULTS), "path stem of the .json and .md results")


def recipe_argv(settings, variant):
    argv = ["--epochs", str(settings.epochs), "--validation-size", "10000", "--frechet-every", str(settings.frechet_every),
            "--run-dir", str(Path(settings.run_dir) / variant), "--export-dir", "", *VARIANTS[variant][1]]
    return (["--data-dir", settings.data_dir] if settings.data_dir else []) + argv


def comparable_flags(command):
    """The recipe flags of a row's command but the paths (--data-dir, --run-dir), which differ between machines."""
    words = shlex.split(command)
    return [word for index, word in enumerate(words)
            if word not in ("--data-dir", "--run-dir") and words[index - 1] not in ("--data-dir", "--run-dir")]


ROW_SCHEMA = Record({"cpu": (str, type(None)), "variant": set(VARIANTS), "adds": str, "best_distance": Number(0),
                     "best_epoch": Number(1, integer=True), "last_distance": Number(0), "minutes": Number(0),
                     "curve": list, "command": str})


def merged_rows(earlier, measured, settings, data):
    """The rows of `measured` ({variant: row}) and, for variants not measured now, those of the `earlier` results
    measured on the same `data` (a fingerprint) with the recipe flags the variant runs with now (epochs, Fréchet
    interval, the variant's own) whose fields check; in the order of VARIANTS, each with the CPU it was measured on.
    An earlier row left out is named in a line saying why."""
    rows = {}
    for row in earlier.get("rows", []) if isinstance(earlier.get("rows"), list) else []:
        row = {"cpu": earlier.get("cpu"), **row} if isinstance(row, dict) else row
        why = fault(row, ROW_SCHEMA)
        if not why and earlier.get("data") != data:
            why = f"measured on other data ({earlier.get('data')} there, {data} now)"
        if not why and comparable_flags(row["command"]) != comparable_flags(
                flags.command_line("python -m recipes.gan_mnist", recipe_argv(settings, row["variant"]))):
            why = "measured with other recipe flags than the variant runs with now"
        if why:
            print(f"an earlier row ({str(row.get('variant') if isinstance(row, dict) else row)[:40]}) is not kept: {why}")
        else:
            rows[row["variant"]] = row
    rows.update(measured)
    return [rows[variant] for variant in VARIANTS if variant in rows]


def markdown(rows, epochs):
    """The results table; with rows from more than one CPU, a column names each row's (its minutes are that CPU's)."""
    cpus = sorted({row["cpu"] for row in rows})
    by_row = len(cpus) > 1
    lines = ["| variant | adds | best distance (epoch) | last distance | minutes |" + (" CPU |" if by_row else ""),
             "|---|---|---|---|---|" + ("---|" if by_row else "")]
    lines += [f"| {row['variant']} | {row['adds']} | {row['best_distance']:.1f} ({row['best_epoch']}) | "
              f"{row['last_distance']:.1f} | {row['minutes']:.1f} |" + (f" {row['cpu']} |" if by_row else "")
              for row in rows]
    where = "" if by_row else f" on {cpus[0]}"
    return "\n".join(lines) + (f"\n\nFréchet distance of 5,000 samples to 10,000 training images held out from GAN "
                               f"training, on the classifier's features; {epochs} epochs each{where}.\n")


def main(argv=None):
    settings = flags.parse(GANAblationConfig, argv, prog=PROG, description=__doc__)
    from recipes import gan_mnist
    from zoo import data, pipeline, speed
    from zoo.files import owned_dir

    owned_dir(settings.run_dir, RUNS_DIR)
    results = Path(f"{settings.results}.json")
    measured = {}
    cpu = speed.cpu_model()
    for variant in settings.variants:
        print(f"{variant}: {VARIANTS[variant][0]}", flush=True)
        recipe_flags = recipe_argv(settings, variant)
        gan_mnist.main(recipe_flags)
        _, curve = pipeline.read_frechet(Path(settings.run_dir) / variant)  # the recipe just wrote and checked it
        best = min(curve, key=lambda point: point["frechet_distance"])
        measured[variant] = {"variant": variant, "adds": VARIANTS[variant][0], "best_distance": best["frechet_distance"],
                             "best_epoch": best["epoch"], "last_distance": curve[-1]["frechet_distance"],
                             "minutes": curve[-1]["minutes"], "cpu": cpu, "curve": curve,
                             "command": flags.command_line("python -m recipes.gan_mnist", recipe_flags)}
    earlier = {}
    if present(results):
        try:
            earlier = read_json(results)
            earlier = earlier if isinstance(earlier, dict) else {}
        except ValueError as error:
            print(f"{results}: its earlier rows cannot be read ({error}); only this run's are written")
    data_print = data.mnist_fingerprint(settings.data_dir)
    rows = merged_rows(earlier, measured, settings, data_print)
    cpus = ", ".join(sorted({row["cpu"] for row in rows}))
    atomic_write_text(results, json.dumps({"cpu": cpus, "epochs": settings.epochs, "data": data_print, "rows": rows},
                                          indent=1) + "\n")
    table = markdown(rows, settings.epochs)
    Path(f"{settings.results}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    cli.run_main(main)
