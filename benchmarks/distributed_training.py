"""The same training on one worker, on two worker processes (127.0.0.1) and on two logical CPU devices.

    python -m benchmarks.distributed_training --data-dir DIR [--epochs 5] [--recipe-flags "..."]

Runs `python -m recipes.vae_mnist` (its defaults, or `--recipe-flags`) three ways as whole processes:
`--strategy one`; `--strategy multi_worker` in two processes with TF_CONFIG on 127.0.0.1; and
`--strategy mirrored --cpu-devices 2`; and, unless `--lost-worker-epoch 0`, the two workers again with the second one
killed (SIGKILL) halfway through that epoch and both restarted, as a lost machine's run is resumed. Reports each one's training images/s, the seconds to reach a validation loss
every run reaches (the worst of their final ones, or `--target-loss`), and draws the validation loss against training
seconds into one PNG beside the results JSON (benchmarks/results/distributed_training.json,
distributed_training_curves.png). On a machine whose cores the workers share, two workers cannot beat one: see the
README for what to expect on separate machines.
"""

import dataclasses
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

from benchmarks import data_dir_flag, write_results
from zoo import cli, cluster, flags
from zoo.flags import flag

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "distributed_training.json"
CURVES = "distributed_training_curves.png"
PROG = "python -m benchmarks.distributed_training"
HERE = Path(__file__).resolve().parent.parent
WAIT_S = 3600  # the longest a run may take before it is stopped


@dataclasses.dataclass
class DistributedTrainingConfig:
    """Flags of `python -m benchmarks.distributed_training`."""

    data_dir: str = flag(None, "directory of the MNIST IDX files", flags.existing_dir)
    epochs: int = flag(5, "training epochs of each run", flags.EPOCHS)
    recipe_flags: str = flag("--eval-samples 1", "more flags of `python -m recipes.vae_mnist`, one shell-quoted string",
                             flags.shell_words)
    target_loss: float = flag(None, "validation loss whose time to reach is reported (default: the worst of the "
                                    "runs' final ones)", flags.optional(flags.positive), type=float)
    lost_worker_epoch: int = flag(2, "the epoch in which the run with a lost worker loses it (0: no such run)",
                                  flags.count(0, 10_000))
    out: str = flag(str(RESULTS), "results JSON; the curves' PNG goes beside it", flags.file_path)

    def check(self):
        if self.lost_worker_epoch > self.epochs:
            return (f"--lost-worker-epoch must be at most --epochs ({self.epochs}); received "
                    f"--lost-worker-epoch={self.lost_worker_epoch}")
        return None


def recipe_command(args, run_dir):
    return [sys.executable, "-m", "recipes.vae_mnist", *args, "--run-dir", str(run_dir), "--export-dir", ""]


def start(command, workers):
    """`command` in `workers` processes (a TF_CONFIG each when more than one)."""
    environments = [dict(os.environ)] if workers == 1 else [
        {**os.environ, "TF_CONFIG": config} for config in cluster.local_cluster(workers)]
    return [subprocess.Popen(command, cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for env in environments]


def finish(processes, command):
    """Waits for `processes` (at most WAIT_S); stops the benchmark with the first failure's message."""
    try:
        errors = [process.communicate(timeout=WAIT_S)[1] for process in processes]
    finally:
        for process in processes:
            process.kill()
    for process, error in zip(processes, errors):
        if process.returncode:
            raise SystemExit(f"{' '.join(command)} failed:\n{error[-2000:]}")


def record(run_dir, wall_seconds):
    """What the chief wrote: speed, the validation loss per epoch, the test metrics."""
    state = json.loads((run_dir / "checkpoint.json").read_text())
    seconds, config = state["epoch_seconds"], state["run_config"]
    available = 60000 - config["validation_size"]
    images_per_epoch = min(config["train_limit"] or available, available) // config["batch_size"] * config["batch_size"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"wall_seconds": round(wall_seconds, 1), "train_seconds": round(state["train_seconds"], 1),
            "images_per_s": round(images_per_epoch * len(seconds) / sum(seconds)),
            "epoch_seconds": seconds, "val_loss": [row["val_loss"] for row in state["history"]],
            "test_loss_nats": metrics.get("test_loss_nats"), "speed_settings": state.get("speed_settings")}


def run(args, run_dir, workers=1):
    """`python -m recipes.vae_mnist args` in `workers` processes; its record."""
    command = recipe_command(args, run_dir)
    began = time.perf_counter()
    finish(start(command, workers), command)
    return record(run_dir, time.perf_counter() - began)


def run_losing_a_worker(args, run_dir, epoch):
    """Two workers; the second is killed halfway through `epoch` (timed by the epoch before), the chief ends with its
    one-line message, and both are restarted with the same command. The record adds what the loss cost."""
    from zoo.training import EpochCheckpoint

    epochs_done = EpochCheckpoint.epochs_done
    command = recipe_command(args, run_dir)
    began = time.perf_counter()
    workers = start(command, 2)
    while epochs_done(run_dir) < epoch - 1 and workers[0].poll() is None:
        time.sleep(0.05)
    state = EpochCheckpoint.read_state(run_dir) if epoch > 1 else {"epoch_seconds": [10.0]}
    time.sleep(state["epoch_seconds"][-1] / 2)
    killed_at, in_flight = time.perf_counter(), epochs_done(run_dir) + 1
    workers[1].kill()
    workers[1].communicate()
    chief_error = workers[0].communicate(timeout=WAIT_S)[1].strip().splitlines()[-1]
    kept = epochs_done(run_dir)
    restarted_at = time.perf_counter()
    finish(start(command, 2), command)
    result = record(run_dir, time.perf_counter() - began)
    result["lost_worker"] = {"killed_in_epoch": in_flight, "epochs_checkpointed_then": kept,
                             "epochs_trained_again": in_flight - kept,
                             "chief_exit_status": workers[0].returncode, "chief_message": chief_error,
                             "seconds_from_kill_to_restart": round(restarted_at - killed_at, 1)}
    return result


def seconds_to(run_record, target):
    """Training seconds until the validation loss first reached `target` (None if it never did)."""
    elapsed = 0.0
    for seconds, loss in zip(run_record["epoch_seconds"], run_record["val_loss"]):
        elapsed += seconds
        if loss <= target:
            return round(elapsed, 1)
    return None


def plot(runs, target, path):
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, record in runs.items():
        seconds = [sum(record["epoch_seconds"][:i + 1]) for i in range(len(record["epoch_seconds"]))]
        ax.plot(seconds, record["val_loss"], marker="o", label=f"{name}: {record['images_per_s']:.0f} images/s")
    ax.axhline(target, color="grey", linestyle=":", label=f"target {target:.2f}")
    ax.set(xlabel="training seconds", ylabel="validation loss (nats)")
    ax.legend(fontsize=8)
    ax.set_title("VAE on MNIST: one worker, two workers (one run losing a worker), two logical CPU devices",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    settings = flags.parse(DistributedTrainingConfig, argv, prog=PROG, description=__doc__)
    from zoo import speed

    common = [*data_dir_flag(settings.data_dir), "--epochs", str(settings.epochs),
              *shlex.split(settings.recipe_flags)]
    ways = {"1 worker": (["--strategy", "one"], 1),
            "2 workers (multi_worker, 127.0.0.1)": (["--strategy", "multi_worker"], 2),
            "2 CPU devices (mirrored)": (["--strategy", "mirrored", "--cpu-devices", "2"], 1)}
    runs = {}
    with tempfile.TemporaryDirectory() as scratch:
        for index, (name, (extra, workers)) in enumerate(ways.items()):
            runs[name] = run([*common, *extra], Path(scratch) / str(index), workers)
            print(f"{name}: {runs[name]['images_per_s']:.0f} images/s, final validation loss "
                  f"{runs[name]['val_loss'][-1]:.2f}", flush=True)
        if settings.lost_worker_epoch:
            name = f"2 workers, one killed in epoch {settings.lost_worker_epoch} and restarted"
            runs[name] = run_losing_a_worker([*common, "--strategy", "multi_worker"], Path(scratch) / "lost",
                                             settings.lost_worker_epoch)
            print(f"{name}: {runs[name]['lost_worker']}; final validation loss {runs[name]['val_loss'][-1]:.2f}, "
                  f"test loss {runs[name]['test_loss_nats']:.2f}", flush=True)
    target = settings.target_loss or max(record["val_loss"][-1] for record in runs.values())
    for record in runs.values():
        record["seconds_to_target"] = seconds_to(record, target)
    out = Path(settings.out)
    results = {"cpu": speed.cpu_model(), "cores": os.cpu_count(), "command": flags.command_line(PROG, argv),
               "target_loss": target, "runs": runs}
    write_results(out, results)
    plot(runs, target, out.parent / CURVES)
    for name, record in runs.items():
        print(f"{name}: {record['images_per_s']:.0f} images/s; {record['seconds_to_target']} s to validation loss "
              f"{target:.2f}; final validation loss {record['val_loss'][-1]:.2f}, test loss {record['test_loss_nats']:.2f}")
    print(f"{results['cpu']}, {results['cores']} cores; wrote {out} and {out.parent / CURVES}")


if __name__ == "__main__":
    cli.run_main(main)
