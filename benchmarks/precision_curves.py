"""Loss curves in float32 and in mixed_bfloat16, to check that `--precision auto` choosing bfloat16 costs nothing.

    python -m benchmarks.precision_curves --data-dir DIR [--recipe vae_mnist] [--arch conv] [--epochs 4]
        [--train-limit 20000]

Trains the recipe's model twice with the training core, the same seed and flags, once per precision (XLA off for
both), and draws the per-epoch training and test losses of both into one PNG beside the results JSON
(benchmarks/results/precision_curves_<recipe>_<arch>.{json,png}), with the seconds per epoch of each.
"""

import dataclasses
import importlib
import tempfile
from pathlib import Path

from benchmarks import write_results
from zoo import cli, flags
from zoo.flags import flag

RESULTS = Path(__file__).parent / "results"
PRECISIONS = ("float32", "mixed_bfloat16")


@dataclasses.dataclass
class PrecisionCurvesConfig:
    """Flags of `python -m benchmarks.precision_curves`."""

    data_dir: str = flag(None, "directory of the MNIST IDX files", flags.existing_dir)
    recipe: str = flag("vae_mnist", "recipe whose config is trained", choices=("vae_mnist", "ae_mnist"))
    arch: str = flag("conv", "architecture", choices=("mlp", "conv"))
    hidden_units: tuple = flag((256,), "widths of the hidden dense layers (conv: one)", flags.WIDTHS)
    epochs: int = flag(4, "epochs of each run", flags.count(1, 100))
    train_limit: int = flag(20000, "training images (0 = all)", flags.IMAGE_COUNT)
    out_dir: str = flag(str(RESULTS), "where the JSON and PNG go", flags.files_dir)


def main(argv=None):
    settings = flags.parse(PrecisionCurvesConfig, argv, prog="python -m benchmarks.precision_curves",
                           description=__doc__)
    from zoo import speed, training  # imports TensorFlow: only once the flags are known to be good

    module = importlib.import_module(f"recipes.{settings.recipe}")
    config_cls = next(value for name, value in vars(module).items() if name.endswith("Config")
                      and dataclasses.is_dataclass(value) and value.__module__ == module.__name__)
    runs = {}
    with tempfile.TemporaryDirectory() as scratch:
        for precision in PRECISIONS:
            config = config_cls(data_dir=settings.data_dir, arch=settings.arch, hidden_units=settings.hidden_units,
                                epochs=settings.epochs,
                                train_limit=settings.train_limit, precision=precision, xla="off",
                                run_dir=f"{scratch}/{precision}", export_dir="")
            _, _, checkpoint = training.train(config, verbose=2)
            runs[precision] = {"history": checkpoint.state["history"],
                               "epoch_seconds": [round(s, 1) for s in checkpoint.state["epoch_seconds"]]}
    name = f"precision_curves_{settings.recipe}_{settings.arch}"
    results = {"cpu": speed.cpu_model(), "command": flags.command_line("python -m benchmarks.precision_curves", argv),
               "runs": runs}
    out_dir = Path(settings.out_dir)
    write_results(out_dir / f"{name}.json", results)
    plot(runs, out_dir / f"{name}.png", f"{settings.recipe} --arch {settings.arch}: float32 and mixed_bfloat16 "
                                         f"({results['cpu']})")
    for precision, run in runs.items():
        last = run["history"][-1]
        print(f"{precision}: final loss {last['loss']:.2f}, test loss {last.get('val_loss', float('nan')):.2f}; "
              f"seconds per epoch {run['epoch_seconds']}")
    print(f"wrote {out_dir / name}.json and .png")


def plot(runs, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for precision, run in runs.items():
        epochs = [entry["epoch"] for entry in run["history"]]
        for key, style in (("loss", "-"), ("val_loss", "--")):
            if key in run["history"][0]:
                axis.plot(epochs, [entry[key] for entry in run["history"]], style, marker="o",
                          label=f"{precision}, {'training' if key == 'loss' else 'test'} loss")
    axis.set_xlabel("epoch")
    axis.set_ylabel("loss (nats per image)")
    axis.set_title(title, fontsize=8)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


if __name__ == "__main__":
    cli.run_main(main)
