"""The tf.distribute plumbing of training: which strategy `--strategy` makes (`make_strategy`), whether this process is
the chief of a multi-worker run, a non-chief worker's scratch directory, the data split over the workers, the settings
every worker must share, and a lost worker reported as a ZooError; `recipe_strategy` runs a whole recipe in a
strategy's scope (zoo.cli.run_distributed)."""

import contextlib
import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import tensorflow as tf

from zoo import cluster
from zoo.errors import ZooError

# How long a multi-worker collective (an all-reduce of the gradients) may wait for the other workers.
COLLECTIVE_TIMEOUT_S = 120


def split_cpu(devices):
    """Makes the CPU `devices` logical devices (one replica each under a mirrored strategy). TensorFlow allows
    this only before its runtime starts; afterwards the split must already be the one asked for."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
    except RuntimeError:  # the runtime has started (e.g. a second run in one process)
        present = len(tf.config.list_logical_devices("CPU"))
        if present != devices:
            raise ZooError(f"--cpu-devices {devices}: this process already runs TensorFlow on {present} CPU "
                           "device(s), and the split can only be set before TensorFlow starts") from None


def make_strategy(config):
    """The tf.distribute strategy of `config.strategy` (zoo.config.STRATEGIES). auto is mirrored with several
    GPUs, else the default one-device strategy; mirrored uses every GPU, or without GPUs every logical CPU device
    (`--cpu-devices`); multi_worker is MultiWorkerMirroredStrategy over the cluster in TF_CONFIG, its collectives
    bounded by COLLECTIVE_TIMEOUT_S so that a lost worker ends the run instead of hanging it, made once every other
    worker has started (within `config.worker_timeout` seconds, else a ZooError naming those that did not), and
    refused unless every worker runs with the same settings (`check_settings_agree`)."""
    gpus = tf.config.list_physical_devices("GPU")
    if config.cpu_devices > 1 and not gpus:
        split_cpu(config.cpu_devices)
    name = config.strategy
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "one"
    if name == "one":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(None if gpus else [d.name for d in tf.config.list_logical_devices("CPU")])
    task = cluster.read()  # checked when the flags were parsed; this raises if TF_CONFIG changed since
    cluster.remove_orphaned_worker_dirs()  # what workers killed outright on this machine left
    # The constructor waits for every task of the cluster in C++, holding the GIL, with no working bound of
    # TensorFlow's (zoo.cluster says more): it starts once every other task has started, within --worker-timeout,
    # and is ended should one die before it joins.
    cluster.await_peers(task, config.worker_timeout)
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=COLLECTIVE_TIMEOUT_S)
    with cluster.bounded(config.worker_timeout):
        strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    check_settings_agree(strategy, config)
    return strategy


def is_multi_worker(strategy):
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy):
    """True unless this process is a non-chief worker of a multi-worker run (zoo.cluster.Task.is_chief)."""
    return not is_multi_worker(strategy) or cluster.read().is_chief


def worker_number():
    return cluster.read().number


def worker_dir():
    """A new scratch directory of this worker, named for its process and removed when it ends
    (zoo.cluster.make_worker_dir)."""
    return Path(cluster.make_worker_dir(worker_number()))


def sharded(dataset, strategy):
    """`dataset` set to be split by its batches' elements across the workers of a multi-worker run (each worker
    takes its share of every global batch); the in-memory pipeline has no files to split by."""
    if not is_multi_worker(strategy):
        return dataset
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def current_strategy(config):
    """The strategy whose scope the caller is in (a recipe inside `recipe_strategy`), else `make_strategy(config)`:
    a process makes its MultiWorkerMirroredStrategy once."""
    return tf.distribute.get_strategy() if tf.distribute.has_strategy() else make_strategy(config)


@contextlib.contextmanager
def recipe_strategy(settings, output_field):
    """Runs a recipe's body in the scope of `settings.strategy` (DistributeFlags); yields the settings it runs with.

    Every worker of a multi-worker run runs the whole recipe, since its training and evaluation steps are
    collective. A non-chief worker works in a copy of the chief's output directory (`settings.<output_field>`, as
    it was when the run started; removed at the end), so that it makes the chief's choices (what to resume, which
    results to reuse) and overwrites nothing of the chief's: TensorFlow's multi-worker guide's temporary dirs.
    """
    strategy = make_strategy(settings)
    own = None
    if not is_chief(strategy):
        own = worker_dir()
        chiefs = Path(getattr(settings, output_field))
        if chiefs.is_dir():
            shutil.copytree(chiefs, own, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".lock"))
        settings = dataclasses.replace(settings, **{output_field: str(own)})
    try:
        with strategy.scope():
            yield settings
    finally:
        if own is not None:
            shutil.rmtree(own, ignore_errors=True)


# What a collective raises on the workers left when one is lost (its peer unreachable, or a wait timed out).
LOST_WORKER_ERRORS = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
                      tf.errors.AbortedError, tf.errors.InternalError)


def worker_loss_reported(fit, checkpoint):
    """`fit`, raising a ZooError that says how to resume when another worker of the run is lost."""
    def guarded(*args, **kwargs):
        try:
            return fit(*args, **kwargs)
        except LOST_WORKER_ERRORS as error:
            done = checkpoint.state["epochs_done"]
            raise ZooError(f"lost another worker of the run during epoch {done + 1} ({type(error).__name__}: "
                           f"{str(error).strip().splitlines()[0][:200]}); epoch {done} is checkpointed: restart "
                           "every worker with the same command to resume") from None
    return guarded


def settings_digest(value):
    """A 48-bit hash of a JSON-able value (exact in a float64 and an int64)."""
    text = json.dumps(value, sort_keys=True, default=str)
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def constant_function(value, dtype=None):
    """A tf.function returning `value`, for `strategy.run` (which warns of its overhead on a plain function, a line
    on every worker's terminal)."""
    return tf.function(lambda: tf.constant(value, dtype))


def workers_values(strategy, values):
    """The list of int64 `values` of every worker of a multi-worker run, in the order of their task numbers."""
    gathered = strategy.gather(strategy.run(constant_function([values], tf.int64)), axis=0).numpy()
    per_worker = strategy.num_replicas_in_sync // cluster.read().workers
    return [[int(v) for v in row] for row in gathered[::per_worker]]


def check_settings_agree(strategy, settings):
    """Every worker of a multi-worker run must run the same recipe with the same settings (all of
    `settings.shared_settings()`: the paths on each machine and --worker-timeout may differ). A ZooError on every
    worker otherwise, naming the flags that differ and each worker's hash, instead of training together on different
    settings. The run's first collective."""
    task, shared = cluster.read(), settings.shared_settings()
    names = sorted(shared)
    recipe = settings_digest([type(settings).__module__, type(settings).__qualname__, names])
    try:
        seen = workers_values(strategy, [recipe, settings_digest(shared)])
        if all(row == seen[0] for row in seen):
            return
        if all(row[0] == recipe for row in seen):
            each = workers_values(strategy, [settings_digest(shared[name]) for name in names])
            differ = [name for i, name in enumerate(names) if len({row[i] for row in each}) > 1]
            own = "; ".join(f"--{name.replace('_', '-')}={shared[name]}" for name in differ)
            what = (f"settings differ in {', '.join('--' + name.replace('_', '-') for name in differ)} ({task.name}, "
                    f"this one, has {own})")
        else:
            what = "recipes differ (another recipe, or another version of its flags)"
    except LOST_WORKER_ERRORS as error:
        raise ZooError(f"lost another worker while comparing the workers' settings ({type(error).__name__}); start "
                       "every worker again with the same command") from None
    hashes = ", ".join(f"{peer} {row[1]:012x}" for peer, row in zip(task.names, seen))
    raise ZooError(f"the workers' {what}: start every worker with the same command (settings hash of each: {hashes})")


def check_workers_agree(strategy, epochs_done, run_dir):
    """Every worker must resume from the same epoch: they do when all see the chief's run dir (one machine, or a
    shared file system). A ZooError on every worker otherwise, instead of training from different weights."""
    total = strategy.reduce("SUM", strategy.run(constant_function(float(epochs_done))), axis=None)
    if float(total) != epochs_done * strategy.num_replicas_in_sync:
        raise ZooError(f"the workers resumed from different epochs (this one from {epochs_done}): every worker must "
                       f"see the chief's run dir {run_dir} (the same machine or a shared file system) to resume")
