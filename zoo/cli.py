"""Entry points of the recipes (the top layer): `recipe_main` parses a recipe's flags before TensorFlow is
imported, then hands the settings to the publishing pipeline; `run_main` turns expected errors into one line
and keeps TensorFlow's start-up chatter off the user's terminal."""

import contextlib
import os
import re
import sys
from pathlib import Path

from zoo import cluster, flags
from zoo.errors import ZooError
from zoo.files import is_disk_full

# Lines TensorFlow's C++ runtime prints while it starts, before its logging is set up, so that
# TF_CPP_MIN_LOG_LEVEL does not reach them, and one it logs as an error for a harmless fallback; the cuInit
# "error" is only the absence of a GPU.
START_UP_NOISE = [
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"I0000 .*\] oneDNN custom operations are on",
    r"I0000 .*cudart_stub\.cc.*\] Could not find cuda drivers",
    r"I0000 .*cpu_feature_guard\.cc.*\] This TensorFlow binary is optimized",
    r"To enable the following instructions: .* in other operations, rebuild TensorFlow",
    # logged as an error by oneDNN when an int32 op (e.g. TFP's categorical sampling) falls back to Eigen
    r"E0000 .*util\.cc.*\] oneDNN supports DT_INT32 only on platforms with AVX-512",
]
NO_GPU_NOISE = [r"E0000 .*cuda_platform\.cc.*\] failed call to cuInit"]


def recipe_main(config_cls, prog, description):
    """The `main(argv=None)` of a training recipe: parse the flags (before TensorFlow is imported), then train,
    evaluate, draw and export through `zoo.pipeline.publish`."""

    def main(argv=None):
        settings = flags.parse(config_cls, argv, prog=prog, description=description)
        before_tensorflow(settings)
        from zoo import pipeline  # imports TensorFlow: only once the flags are known to be good

        return pipeline.publish(settings, command=flags.command_line(prog, argv))

    main.config_cls = config_cls  # for callers that rebuild the recipe's settings (benchmarks, tuning)
    return main


def run_distributed(run, settings, argv, output_field):
    """`run(settings, argv)` of a recipe with its own flags (zoo.config.DistributeFlags among them), in the scope
    of its --strategy; on a non-chief worker of a multi-worker run, `settings.<output_field>` is a copy of the
    chief's (zoo.distribute.recipe_strategy)."""
    before_tensorflow(settings)
    from zoo import distribute  # imports TensorFlow: only once the flags are known to be good

    with distribute.recipe_strategy(settings, output_field) as settings:
        return run(settings, argv)


def before_tensorflow(settings):
    """What must happen before TensorFlow starts a thread: a multi-worker process's SIGTERM and Ctrl-C go to
    zoo.cluster's watcher, so that they end it in one line even while TensorFlow waits for the other workers."""
    if settings.strategy == "multi_worker":
        cluster.watch_signals()


def _has_nvidia_device():
    return any(Path("/dev").glob("nvidia[0-9]*"))


@contextlib.contextmanager
def start_up_noise_filtered():
    """Passes everything written to stderr (file descriptor 2, so native code too) through to the terminal, line
    by line, except TensorFlow's start-up noise (START_UP_NOISE, and NO_GPU_NOISE on a machine without an NVIDIA
    device), so that a recipe's first lines are its own."""
    noise = re.compile("|".join(START_UP_NOISE + ([] if _has_nvidia_device() else NO_GPU_NOISE)))
    sys.stderr.flush()
    terminal = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward():
        with open(read_end, "rb") as lines:
            for line in lines:
                if not noise.match(line.decode(errors="replace")):
                    os.write(terminal, line)

    forwarder = cluster.thread_without_stop_signals(forward)  # signals go to the main thread or zoo.cluster's watcher
    cluster.set_terminal(terminal)  # its last line, which no Python thread may be free to forward
    try:
        yield
    finally:
        cluster.set_terminal(2)
        sys.stderr.flush()
        os.dup2(terminal, 2)  # closes the pipe's last write end here: the forwarder reads to its end and stops
        forwarder.join(timeout=5)
        os.close(terminal)


def run_main(main):
    """Runs an entry point's `main`, turning expected errors (bad data, a diverged run) into one line and status 1."""
    try:
        with start_up_noise_filtered():
            main()
    except ZooError as error:
        sys.stderr.write(f"error: {error}\n")
        sys.exit(1)
    except Exception as error:  # a full disk while writing anything else (logs, figures, results)
        if not is_disk_full(error):
            raise
        sys.stderr.write(f"error: the disk is full ({str(error).strip().splitlines()[0][:300]}); checkpoints and "
                         "artifacts are written atomically, so the last complete ones are kept\n")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: the last finished epoch is checkpointed; rerun the same command to resume\n")
        sys.exit(130)
