"""Faults found by a hostile but fair user, each kept closed by a test that failed before its fix."""

import json
import shutil
import subprocess
import sys

import pytest

import zoo
from tests.conftest import ROOT, run_python
from zoo import export, training
from zoo.errors import ZooError


def small_vae_config(mnist_dir, run_dir, **changes):
    from recipes.vae_mnist import VAEMnistConfig

    settings = dict(data_dir=mnist_dir, train_limit=500, epochs=1, hidden_units=(16,), latent_dim=2,
                    run_dir=str(run_dir), export_dir="")
    return VAEMnistConfig(**{**settings, **changes})


@pytest.mark.parametrize("planted", ["../elsewhere/epoch-0001.weights.h5", "/tmp/epoch-0001.weights.h5",
                                     "epoch-0001.weights.h5/../x", 7])
def test_a_checkpoint_naming_a_file_outside_its_run_dir_is_refused_and_nothing_is_deleted(mnist_dir, tmp_path,
                                                                                          planted):
    run_dir = tmp_path / "runs" / "vae"
    training.train(small_vae_config(mnist_dir, run_dir), verbose=0)
    outside = tmp_path / "runs" / "elsewhere" / "epoch-0001.weights.h5"
    outside.parent.mkdir()
    shutil.copy(run_dir / "epoch-0001.weights.h5", outside)
    state = json.loads((run_dir / "checkpoint.json").read_text())
    (run_dir / "checkpoint.json").write_text(json.dumps({**state, "weights_file": planted}))
    with pytest.raises(ZooError, match="weights_file must be a file name of the form epoch-NNNN.weights.h5"):
        training.train(small_vae_config(mnist_dir, run_dir, epochs=2), verbose=0)
    assert outside.exists()


@pytest.mark.parametrize("field, value", [("epochs_done", -3), ("epochs_done", "1"), ("run_config", []),
                                          ("history", None), ("train_seconds", float("nan"))])
def test_a_checkpoint_with_fields_of_the_wrong_type_or_range_is_refused(tmp_path, field, value):
    state = {"epochs_done": 1, "weights_file": "epoch-0001.weights.h5", "train_seconds": 1.0, "epoch_seconds": [1.0],
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
