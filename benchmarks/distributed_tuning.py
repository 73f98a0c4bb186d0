"""Wall time of one small search run by one process against the same search run by a chief and N workers.

    python -m benchmarks.distributed_tuning --data-dir ../shared/data/mnist

Both runs start from empty directories, run the same `python -m tuning.search` command (random search,
so both try the same configurations), and are timed from the first process's start to the last
process's exit. Results: benchmarks/results/distributed_tuning.{json,md}.
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from zoo import flags
from zoo.cluster import free_port
from zoo.files import owned_dir
from zoo.flags import flag

RESULTS = Path(__file__).resolve().parent / "results"


OUT_DIR = "the output dir of python -m benchmarks.distributed_tuning"


@dataclasses.dataclass
class DistributedTuningConfig:
    """Flags of `python -m benchmarks.distributed_tuning`."""

    data_dir: str = flag(None, "directory of the MNIST IDX files", flags.existing_dir)
    workers: int = flag(2, "workers beside the chief", flags.count(1, 64))
    max_trials: int = flag(8, "trials of the search", flags.count(1, 10_000))
    epochs: int = flag(3, "epochs per trial", flags.EPOCHS)
    train_limit: int = flag(20000, "training images per trial", flags.count(1, 50_000))
    out: str = flag("runs/bench_distributed_tuning", "where the two searches run (emptied first: a new or empty "
                                                      "directory, or one this benchmark made)", flags.owned_dir(OUT_DIR))


def search_command(settings, out):
    command = [sys.executable, "-m", "tuning.search", "--model", "vae", "--space", "latent_dim", "--tuner", "random",
               "--max-trials", str(settings.max_trials), "--epochs", str(settings.epochs), "--train-limit",
               str(settings.train_limit), "--validation-size", "5000", "--final-epochs", "0", "--out", str(out)]
    return command + (["--data-dir", settings.data_dir] if settings.data_dir else [])


def timed(processes):
    """Waits for every (role, Popen); returns {role: seconds from the start to its exit}, failing on any error."""
    start, seconds = time.perf_counter(), {}
    running = dict(processes)
    while running:
        for role, process in list(running.items()):
            if process.poll() is not None:
                if process.returncode != 0:
                    raise SystemExit(f"{role} exited with status {process.returncode}")
                seconds[role] = round(time.perf_counter() - start, 1)
                del running[role]
        time.sleep(0.1)
    return seconds


def main(argv=None):
    settings = flags.parse(DistributedTuningConfig, argv, prog="python -m benchmarks.distributed_tuning")
    root = owned_dir(settings.out, OUT_DIR)
    for previous in root.iterdir():  # the last run's searches and logs (the directory is this benchmark's own)
        if previous.name in ("single", "distributed") and previous.is_dir():
            shutil.rmtree(previous)
        elif previous.suffix == ".log" and previous.is_file():
            previous.unlink()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("KERASTUNER_TUNER_ID", None)
    env.pop("KERASTUNER_ORACLE_IP", None)

    logs = []

    def start(role, out, extra_env=None):
        logs.append(open(root / f"{out.name}-{role}.log", "w"))
        return role, subprocess.Popen(search_command(settings, out), env={**env, **(extra_env or {})},
                                      stdout=logs[-1], stderr=subprocess.STDOUT)

    print("one process ...")
    one_process = timed([start("single", root / "single")])["single"]
    print(f"  {one_process} s")
    print(f"a chief and {settings.workers} workers ...")
    cluster = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(free_port())}
    roles = ["chief"] + [f"tuner{i}" for i in range(settings.workers)]
    exits = timed([start(role, root / "distributed", {**cluster, "KERASTUNER_TUNER_ID": role}) for role in roles])
    for log in logs:
        log.close()
    # The workers' last exit is when the trials were done; the chief then polls (every 20 s in Keras Tuner
    # 1.4) before it sees that every worker has left, and writes the results.
    workers_done, chief_done = max(exits[role] for role in roles[1:]), exits["chief"]
    print(f"  workers done after {workers_done} s, chief exited after {chief_done} s")
    ends = [json.loads(line) for line in (root / "distributed" / "trial_log.jsonl").read_text().splitlines()]
    per_worker = {role: sum(e["event"] == "end" and e["tuner"] == role for e in ends) for role in roles[1:]}
    result = {"command": flags.command_line("python -m benchmarks.distributed_tuning", argv),
              "settings": flags.settings_dict(settings), "cpu_cores": os.cpu_count(),
              "one_process_seconds": one_process, "workers_done_seconds": workers_done,
              "chief_exit_seconds": chief_done, "speedup_to_workers_done": round(one_process / workers_done, 2),
              "speedup_to_chief_exit": round(one_process / chief_done, 2), "trials_per_worker": per_worker}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "distributed_tuning.json").write_text(json.dumps(result, indent=1) + "\n")
    (RESULTS / "distributed_tuning.md").write_text(
        f"Command: `{result['command']}` ({os.cpu_count()} CPU cores)\n\n"
        "| run | trials done, s | process(es) exited, s | trials per worker |\n|---|---|---|---|\n"
        f"| one process | {one_process} | {one_process} | - |\n"
        f"| chief + {settings.workers} workers | {workers_done} | {chief_done} | {per_worker} |\n\n"
        f"Speed-up: {result['speedup_to_workers_done']}x to the trials' end, {result['speedup_to_chief_exit']}x to "
        f"the chief's exit. The search: random, {settings.max_trials} VAE trials over latent_dim, {settings.epochs} "
        f"epochs each on {settings.train_limit} training images.\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
