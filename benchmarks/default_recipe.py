"""The default VAE recipe before and after a change of code or defaults, each run whole as a fresh process.

    git worktree add /tmp/before 051b1fa        # the code before
    python -m benchmarks.default_recipe --data-dir DIR --before /tmp/before [--repeats 2]

Runs `python -m recipes.vae_mnist --data-dir DIR` with nothing else but a fresh `--run-dir` and `--export-dir`
(training, the k = 500 likelihood evaluation, figures and export, as a user's first run does) from the `--before`
checkout and from this one, alternating, `--repeats` times each. `--before-flags` runs the before side with extra
flags (for example the old defaults on today's code, `--before . --before-flags "--batch-size 100"`); `--extra-flags`
adds flags to both sides.
Reports each run's wall time, training seconds and test NLL, and draws the validation loss per epoch and against
training seconds, before and after, into one PNG beside the results JSON
(benchmarks/results/default_recipe.json, default_recipe_curves.png).
"""

import dataclasses
import json
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

from benchmarks import data_dir_flag, run_checked, write_results
from zoo import cli, flags
from zoo.flags import flag

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "default_recipe.json"
CURVES = "default_recipe_curves.png"
PROG = "python -m benchmarks.default_recipe"
HERE = Path(__file__).resolve().parent.parent


@dataclasses.dataclass
class DefaultRecipeConfig:
    """Flags of `python -m benchmarks.default_recipe`."""

    data_dir: str = flag(None, "directory of the MNIST IDX files", flags.existing_dir)
    before: str = flag(None, "a checkout of the code before (its recipes/ run from there)", flags.existing_dir)
    before_flags: str = flag("", "extra recipe flags for the before side, as one shell-quoted string",
                             flags.shell_words)
    extra_flags: str = flag("", "extra recipe flags for both sides (e.g. a small budget for a quick look)",
                            flags.shell_words)
    repeats: int = flag(2, "runs of each side (alternating)", flags.count(1, 20))
    out: str = flag(str(RESULTS), "results JSON; the curves' PNG goes beside it", flags.file_path)

    def check(self):
        if self.before is None:
            return "--before is required: a checkout of the code to compare with (e.g. from `git worktree add`)"
        if not (Path(self.before) / "recipes" / "vae_mnist.py").is_file():
            return f"--before takes a checkout of this code; {self.before} holds no recipes/vae_mnist.py"
        return None


def run_recipe(source, data_dir, extra, run_dir):
    """One whole `python -m recipes.vae_mnist` process from `source`; its wall time and what it wrote."""
    args = [sys.executable, "-m", "recipes.vae_mnist", *data_dir_flag(data_dir), *extra,
            "--run-dir", str(run_dir), "--export-dir", str(run_dir / "saved_model")]
    start = time.perf_counter()
    run_checked(args, cwd=source)
    wall = time.perf_counter() - start
    state = json.loads((run_dir / "checkpoint.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"wall_seconds": round(wall, 1), "train_seconds": round(state["train_seconds"], 1),
            "test_nll_nats": metrics.get("test_nll_nats"), "epoch_seconds": state["epoch_seconds"],
            "val_loss": [row["val_loss"] for row in state["history"]],
            "run_config": {key: state["run_config"].get(key) for key in ("batch_size", "learning_rate", "epochs")},
            "speed_settings": state.get("speed_settings")}


def plot_curves(runs, path):
    """Validation loss per epoch (left) and against training seconds (right), one line per run."""
    fig, (by_epoch, by_time) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for side, color in (("before", "tab:blue"), ("after", "tab:orange")):
        nlls = ", ".join(f"{run['test_nll_nats']:.2f}" for run in runs[side])
        for index, run in enumerate(runs[side]):
            label = (f"{side}: batch {run['run_config']['batch_size']}, lr {run['run_config']['learning_rate']}, "
                     f"{run['run_config']['epochs']} epochs; test NLL {nlls}") if index == 0 else None
            epochs = range(1, len(run["val_loss"]) + 1)
            seconds = [sum(run["epoch_seconds"][:epoch]) for epoch in epochs]
            by_epoch.plot(epochs, run["val_loss"], color=color, alpha=0.8, label=label)
            by_time.plot(seconds, run["val_loss"], color=color, alpha=0.8)
    by_epoch.set(xlabel="epoch", ylabel="validation loss (negative ELBO, nats)")
    by_time.set(xlabel="training seconds")
    low = min(min(run["val_loss"]) for side in runs.values() for run in side)
    by_epoch.set_ylim(low - 2, low + 25)
    by_epoch.legend(fontsize=8)
    fig.suptitle("python -m recipes.vae_mnist (defaults), before and after", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None):
    settings = flags.parse(DefaultRecipeConfig, argv, prog=PROG, description=__doc__)
    from zoo import speed

    both = shlex.split(settings.extra_flags)
    sides = {"before": (Path(settings.before).resolve(), [*both, *shlex.split(settings.before_flags)]),
             "after": (HERE, both)}
    runs = {side: [] for side in sides}
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(settings.repeats):
            for side, (source, extra) in sides.items():
                run = run_recipe(source, settings.data_dir, extra, Path(scratch) / f"{side}-{repeat}")
                runs[side].append(run)
                print(f"{side} {repeat + 1}/{settings.repeats}: wall {run['wall_seconds']} s, training "
                      f"{run['train_seconds']} s, test NLL {run['test_nll_nats']}", flush=True)
    median = {side: statistics.median(run["wall_seconds"] for run in side_runs) for side, side_runs in runs.items()}
    out = Path(settings.out)
    results = {"cpu": speed.cpu_model(), "command": flags.command_line(PROG, argv), "runs": runs,
               "median_wall_seconds": median, "wall_speedup": round(median["before"] / median["after"], 3)}
    write_results(out, results)
    plot_curves(runs, out.parent / CURVES)
    print(f"wall {median['before']:.1f} s before, {median['after']:.1f} s after: {results['wall_speedup']}x shorter; "
          f"{results['cpu']}; wrote {out} and {out.parent / CURVES}")


if __name__ == "__main__":
    cli.run_main(main)
