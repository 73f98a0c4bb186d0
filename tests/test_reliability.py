"""Faults found by a hostile but fair user, each kept closed by a test that failed before its fix."""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys

import pytest

import zoo
from tests.conftest import ROOT, run_python
from zoo import export, files, training
from zoo.errors import ZooError


def small_vae_config(mnist_dir, run_dir, **changes):
    from recipes.vae_mnist import VAEMnistConfig

    settings = dict(data_dir=mnist_dir, train_limit=500, batch_size=100, epochs=1, hidden_units=(16,), latent_dim=2,
                    run_dir=str(run_dir), export_dir="")
    return VAEMnistConfig(**{**settings, **changes})


@pytest.mark.parametrize("planted", ["../elsewhere/epoch-0001.keras", "/tmp/epoch-0001.keras",
                                     "epoch-0001.keras/../x", "epoch-0001.h5", 7])
def test_a_checkpoint_naming_a_file_outside_its_run_dir_is_refused_and_nothing_is_deleted(mnist_dir, tmp_path,
                                                                                          planted):
    run_dir = tmp_path / "runs" / "vae"
    training.train(small_vae_config(mnist_dir, run_dir), verbose=0)
    outside = tmp_path / "runs" / "elsewhere" / "epoch-0001.keras"
    outside.parent.mkdir()
    shutil.copy(run_dir / "epoch-0001.keras", outside)
    state = json.loads((run_dir / "checkpoint.json").read_text())
    (run_dir / "checkpoint.json").write_text(json.dumps({**state, "weights_file": planted}))
    with pytest.raises(ZooError, match="weights_file must be a file name of the form epoch-NNNN.keras"):
        training.train(small_vae_config(mnist_dir, run_dir, epochs=2), verbose=0)
    assert outside.exists()


@pytest.mark.parametrize("field, value", [("epochs_done", -3), ("epochs_done", "1"), ("run_config", []),
                                          ("history", None), ("train_seconds", float("nan"))])
def test_a_checkpoint_with_fields_of_the_wrong_type_or_range_is_refused(tmp_path, field, value):
    state = {"epochs_done": 1, "weights_file": "epoch-0001.keras", "train_seconds": 1.0, "epoch_seconds": [1.0],
             "steady_epoch_seconds": [], "history": [], "run_config": {}}
    (tmp_path / "checkpoint.json").write_text(json.dumps({**state, field: value}))
    with pytest.raises(ZooError, match=f"checkpoint.json: {field} must be"):
        training.EpochCheckpoint.read_state(tmp_path)


HOLD_LOCK = """
import fcntl, os, sys, time
handle = open(sys.argv[1], "a+")
fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
handle.write(f"{os.getpid()}\\n")
handle.flush()
print("held", flush=True)
time.sleep(120)
"""


@pytest.fixture
def locked_by_another_process(tmp_path):
    """`hold(lock_file)` starts a process that holds the lock until it is killed; returns the process."""
    processes = []

    def hold(lock_file):
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lock_file)], text=True, stdout=subprocess.PIPE)
        assert process.stdout.readline().strip() == "held"
        processes.append(process)
        return process

    yield hold
    for process in processes:
        process.kill()
        process.wait()


def test_a_second_process_on_one_run_dir_stops_at_once_naming_the_holder(mnist_dir, tmp_path,
                                                                         locked_by_another_process):
    run_dir = tmp_path / "run"
    pid = locked_by_another_process(run_dir / ".lock").pid
    result = run_python(["-m", "recipes.vae_mnist", "--data-dir", mnist_dir, "--train-limit", "500", "--epochs", "1",
                         "--run-dir", str(run_dir), "--export-dir", ""])
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: the run dir {run_dir} is in use by process {pid} (lock {run_dir / '.lock'}); wait for it to end "
        "or choose another directory"]
    assert not (run_dir / "checkpoint.json").exists()


def test_a_second_export_to_one_place_is_refused_and_the_lock_dies_with_its_holder(tmp_path,
                                                                                   locked_by_another_process):
    model = zoo.get("ae", latent_dim=2, hidden_units=(8,))
    holder = locked_by_another_process(tmp_path / ".artifact.lock")
    with pytest.raises(ZooError, match=f"the export dir {tmp_path / 'artifact'} is in use by process {holder.pid}"):
        export.export(model, tmp_path / "artifact", {"model": "ae"})
    assert not (tmp_path / "artifact").exists()
    holder.kill()  # SIGKILL: the OS releases the lock of a process that dies
    holder.wait()
    export.export(model, tmp_path / "artifact", {"model": "ae"})
    assert (tmp_path / "artifact" / "saved_model.pb").exists()


def test_the_search_dir_is_locked_outside_chief_worker_mode(tmp_path, locked_by_another_process):
    pid = locked_by_another_process(tmp_path / "search" / ".lock").pid
    result = run_python(["-m", "tuning.search", "--out", str(tmp_path / "search"), "--max-trials", "1",
                         "--epochs", "1", "--train-limit", "500", "--validation-size", "500"])
    assert result.returncode == 1
    assert f"is in use by process {pid}" in result.stderr and result.stderr.count("\n") == 1


def test_an_interrupted_exports_staging_is_removed_by_the_next_export(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    stale = tmp_path / f".artifact.tmp-{dead_pid}"
    (stale / "variables").mkdir(parents=True)
    (stale / "saved_model.pb").write_bytes(b"half")
    alive = tmp_path / f".artifact.tmp-{1}"  # pid 1 lives as long as the machine: another process's staging
    alive.mkdir()
    export.export(zoo.get("ae", latent_dim=2, hidden_units=(8,)), tmp_path / "artifact", {"model": "ae"})
    assert not stale.exists() and alive.exists()
    assert (tmp_path / "artifact" / "saved_model.pb").exists()


class SmallDisk:
    """A directory where writes really fail for lack of space: a 16 MB tmpfs where the tests run as root (filled
    but for `room` bytes by `fill`), otherwise a file-size limit (RLIMIT_FSIZE of `room` bytes) that `preexec`
    sets in a child process (the kernel then refuses writes with EFBIG, as a full disk refuses them with ENOSPC)."""

    def __init__(self, path):
        self.path, self.room, self.mounted = path, None, False
        path.mkdir()
        if os.geteuid() == 0:
            self.mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(path)],
                                          capture_output=True).returncode == 0

    def fill(self, room=32 * 1024):
        self.room = room
        if self.mounted:
            free = shutil.disk_usage(self.path).free
            with open(self.path / "filler", "wb") as filler:
                filler.write(b"\0" * max(free - room, 0))

    def free(self):
        self.room = None
        (self.path / "filler").unlink(missing_ok=True)

    def preexec(self):
        if self.room is not None and not self.mounted:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (self.room, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    def run(self, args):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
        return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                              preexec_fn=self.preexec)

    def unmount(self):
        if self.mounted:
            subprocess.run(["umount", "--lazy", str(self.path)], check=True)  # this process may hold a lock there


@pytest.fixture
def small_disk(tmp_path):
    disk = SmallDisk(tmp_path / "disk")
    yield disk
    disk.unmount()


FIRST_EPOCH = """
import sys
import keras
from tests.test_reliability import small_vae_config
from zoo import training

class StopAfterFirstEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.model.stop_training = True

training.train(small_vae_config(sys.argv[1], sys.argv[2], epochs=2), verbose=0, callbacks=[StopAfterFirstEpoch()])
"""
SMALL_VAE_FLAGS = ["--train-limit", "500", "--batch-size", "100", "--epochs", "2", "--hidden-units", "16", "--latent-dim", "2"]


def test_a_full_disk_while_checkpointing_ends_in_one_line_and_keeps_the_last_checkpoint(mnist_dir, small_disk):
    run_dir = small_disk.path / "run"
    first = small_disk.run(["-c", FIRST_EPOCH, mnist_dir, str(run_dir)])  # epoch 1 of 2 is checkpointed
    assert first.returncode == 0, first.stderr[-3000:]
    first_weights = (run_dir / "epoch-0001.keras").read_bytes()
    small_disk.fill()
    result = small_disk.run(["-m", "recipes.vae_mnist", "--data-dir", mnist_dir, *SMALL_VAE_FLAGS,
                             "--run-dir", str(run_dir), "--export-dir", ""])
    assert result.returncode == 1, result.stderr[-3000:]  # not 139: h5py's failed file no longer crashes the exit
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: the disk is full: writing {run_dir / 'epoch-0002.keras'} failed; the checkpoint of "
                      f"epoch 1 ({run_dir / 'epoch-0001.keras'}) is kept: free some space and rerun the same "
                      "command to resume"], result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert json.loads((run_dir / "checkpoint.json").read_text())["weights_file"] == "epoch-0001.keras"
    assert (run_dir / "epoch-0001.keras").read_bytes() == first_weights
    assert not list(run_dir.glob(".zoo-partial-*")) and not (run_dir / "epoch-0002.keras").exists()
    small_disk.free()
    _, _, checkpoint = training.train(small_vae_config(mnist_dir, run_dir, epochs=2), verbose=0)  # resumes
    assert checkpoint.state["epochs_done"] == 2 and len(checkpoint.state["history"]) == 2


EXPORT = """
import sys
import zoo
from zoo import export
from zoo.errors import DiskFull
try:
    export.export(zoo.get("ae", latent_dim=2, hidden_units=(64,), seed=int(sys.argv[2])), sys.argv[1],
                  {"model": "ae", "seed": int(sys.argv[2])})
    print("exported")
except DiskFull as error:
    print(error)
"""


def test_a_full_disk_while_exporting_ends_in_one_line_and_keeps_the_previous_artifact(small_disk):
    import numpy as np
    import tensorflow as tf

    artifact = small_disk.path / "artifact"
    assert small_disk.run(["-c", EXPORT, str(artifact), "1"]).stdout.split() == ["exported"]
    small_disk.fill(room=64 * 1024)
    result = small_disk.run(["-c", EXPORT, str(artifact), "2"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == [f"the disk is full: exporting to {artifact} failed; the previous artifact at "
                                          f"{artifact} is untouched"], (result.stdout, result.stderr[-2000:])
    small_disk.free()
    assert json.loads((artifact / "card.json").read_text())["seed"] == 1
    assert sorted(p.name for p in small_disk.path.iterdir()) == [".artifact.lock", "artifact"]  # no staging left
    loaded = tf.saved_model.load(str(artifact))
    assert np.isfinite(loaded.reconstruct(tf.zeros([2, 28, 28, 1]))["probs"].numpy()).all()


def test_temporary_files_of_interrupted_checkpoint_writes_are_removed_on_the_next_run(mnist_dir, tmp_path):
    run_dir = files.owned_dir(tmp_path / "run", files.RUN_DIR)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = run_dir / f".zoo-partial-{int(gone.stdout)}-epoch-0001.keras"  # its writer was killed
    leftover.write_bytes(b"half")
    training.train(small_vae_config(mnist_dir, run_dir), verbose=0)
    assert not leftover.exists() and (run_dir / "epoch-0001.keras").exists()
