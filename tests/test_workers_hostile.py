"""A multi-worker run (--strategy multi_worker) used as a hostile user would: a worker whose peers never come, SIGTERM
and Ctrl-C while it waits or trains, a worker started late, workers started with different flags, the scratch
directories of killed workers, and TF_CONFIG ports and flag values in digits other than ASCII's."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from tests.test_distributed import WORKER_TIMEOUT_S, epochs_done, flag_error
from zoo import cluster, flags

# One step of a small VAE: what every worker runs unless a test says otherwise.
TINY = ["-m", "recipes.vae_mnist", "--train-limit", "200", "--batch-size", "200", "--epochs", "1", "--eval-samples",
        "2", "--xla", "off", "--precision", "float32", "--hidden-units", "64", "--latent-dim", "4", "--export-dir", "",
        "--strategy", "multi_worker"]


STARTED = []


@pytest.fixture(autouse=True)
def no_worker_left():
    """Kills what a failed test left running (a worker that ignores SIGTERM, before the fixes)."""
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.communicate()


def start_worker(args, tf_config, tmp_dir):
    """One worker process of a cluster on 127.0.0.1, its temporary directory `tmp_dir`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "TF_CONFIG": tf_config,
           "TMPDIR": str(tmp_dir)}
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    STARTED.append(process)
    return process


def finished(process, timeout=WORKER_TIMEOUT_S):
    """(return code, stdout, stderr) of `process`, killed if it outlives `timeout`."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"the worker was still running after {timeout} s; it printed {(out + err)[-2000:]!r}")
    return process.returncode, out, err


def address_of(tf_config):
    return cluster.read({"TF_CONFIG": tf_config}).address


def wait_until_listening(address, process, timeout=120):
    """Waits until the worker listens at `address`: it has started waiting for its peers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(address.rsplit(":", 1), timeout=0.5):
            return
        time.sleep(0.2)
    pytest.fail(f"the worker never listened at {address}")


def dead_pid():
    """The pid of a process that has ended."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def worker_dirs(tmp_dir):
    return sorted(path.name for path in tmp_dir.iterdir() if path.name.startswith("zoo-worker-"))


# --- TF_CONFIG and flags: ASCII digits only -------------------------------------------------------------------------

# Arabic-Indic digits, a superscript (str.isdigit takes both), a Cyrillic o in the host
@pytest.mark.parametrize("address", ["localhost:١٢٣٤٥", "localhost:²", "lоcalhost:1234"])
def test_a_tf_config_address_out_of_ascii_is_refused(address):
    environ = {"TF_CONFIG": json.dumps({"cluster": {"worker": [address]}, "task": {"type": "worker", "index": 0}})}
    with pytest.raises(cluster.ClusterError, match="ASCII") as error:
        cluster.read(environ)
    assert repr(address) in str(error.value)


def test_a_tf_config_port_in_arabic_indic_digits_is_one_line_and_exit_2():
    result = flag_error(json.dumps({"cluster": {"worker": ["localhost:١٢٣٤٥"]}, "task": {"type": "worker", "index": 0}}))
    assert result.returncode == 2
    assert "'localhost:١٢٣٤٥'" in result.stderr and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize("steps", ["²,3", "٣,٤", "1,３"])
def test_profile_steps_out_of_ascii_digits_are_one_line_and_exit_2(steps, capsys):
    from recipes.vae_mnist import VAEMnistConfig

    with pytest.raises(SystemExit) as exit:
        flags.parse(VAEMnistConfig, ["--profile-steps", steps])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "--profile-steps takes two steps A,B" in err and err.count("\n") == 1


# --- scratch directories of non-chief workers -----------------------------------------------------------------------

def test_only_the_scratch_dirs_of_ended_processes_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    own = cluster.make_worker_dir(1)
    assert os.path.basename(own).startswith(f"zoo-worker-1-pid{os.getpid()}-")
    gone = dead_pid()
    orphan = tmp_path / f"zoo-worker-1-pid{gone}-abcd_123"
    (orphan / "logs").mkdir(parents=True)
    (orphan / "logs" / "events").write_text("x")
    target = tmp_path / "target"
    target.mkdir()
    kept = {
        "live": tmp_path / f"zoo-worker-2-pid{os.getppid()}-abcdefgh",  # a live process's (pytest's parent)
        "older name": tmp_path / "zoo-worker-1-abcdefgh",  # no pid: nothing proves whose it is
        "longer name": tmp_path / f"zoo-worker-1-pid{gone}-abcdefgh-x",
        "other digits": tmp_path / f"zoo-worker-1-pid{str(gone).translate(str.maketrans('0123456789', '٠١٢٣٤٥٦٧٨٩'))}-abcdefgh",
    }
    for path in kept.values():
        path.mkdir()
    link = tmp_path / f"zoo-worker-3-pid{gone}-abcdefgh"
    link.symlink_to(target)
    file = tmp_path / f"zoo-worker-4-pid{gone}-abcdefgh"
    file.write_text("not a directory")
    assert cluster.remove_orphaned_worker_dirs() == [str(orphan)]
    assert not orphan.exists()
    assert all(path.is_dir() for path in kept.values()) and os.path.isdir(own)
    assert link.is_symlink() and target.is_dir() and file.is_file()


# --- a worker whose peers never come; signals ------------------------------------------------------------------------

def test_a_worker_alone_stops_in_one_line_within_its_timeout(mnist_dir, tmp_path):
    """Worker 0 of two, started alone, says which worker it waited for and how long; it also removes the scratch
    directory of a worker killed earlier on this machine."""
    orphan = tmp_path / f"zoo-worker-1-pid{dead_pid()}-abcdefgh"
    orphan.mkdir()
    configs = cluster.local_cluster(2)
    start = time.monotonic()
    code, _, err = finished(start_worker([*TINY, "--data-dir", mnist_dir, "--run-dir", str(tmp_path / "run"),
                                          "--worker-timeout", "5"], configs[0], tmp_path))
    took = time.monotonic() - start
    assert code == 1, err
    assert err.count("\n") == 1, err
    assert err.startswith("error: worker 0 waited 5 s (--worker-timeout 5)"), err
    assert f"(nothing listens at their addresses): worker 1 at {address_of(configs[1])};" in err, err
    assert took < 5 + 40, took  # TensorFlow's start, then the timeout
    assert not orphan.exists()


@pytest.mark.parametrize("stop, code, line", [(signal.SIGTERM, 143, "stopped by SIGTERM"),
                                              (signal.SIGINT, 130, "interrupted")])
def test_a_signal_ends_a_waiting_worker_at_once(stop, code, line, mnist_dir, tmp_path):
    configs = cluster.local_cluster(2)
    worker = start_worker([*TINY, "--data-dir", mnist_dir, "--run-dir", str(tmp_path / "run"),
                           "--worker-timeout", "600"], configs[0], tmp_path)
    wait_until_listening(address_of(configs[0]), worker)
    time.sleep(1)  # inside TensorFlow's wait for worker 1
    sent = time.monotonic()
    worker.send_signal(stop)
    returncode, _, err = finished(worker, timeout=30)
    assert time.monotonic() - sent < 10
    assert returncode == code and err.count("\n") == 1 and line in err, (returncode, err)


# --- workers that do meet --------------------------------------------------------------------------------------------

def differing_workers(args_of, tmp_path):
    """Starts worker i with `args_of[i]`; their (return code, stdout, stderr)."""
    workers = [start_worker(args, config, tmp_path) for args, config in zip(args_of, cluster.local_cluster(2))]
    return [finished(worker) for worker in workers]


def test_workers_started_with_other_flags_refuse_to_train_together(mnist_dir, tmp_path):
    common = [*TINY, "--data-dir", mnist_dir, "--run-dir", str(tmp_path / "run")]
    results = differing_workers([[*common, "--learning-rate", "0.003", "--worker-timeout", "100"],
                                 [*common, "--learning-rate", "0.5", "--worker-timeout", "150"]], tmp_path)
    for index, ((code, _, err), rate) in enumerate(zip(results, ("0.003", "0.5"))):
        assert code == 1 and err.count("\n") == 1, err[-3000:]
        last = err.strip()
        assert ("the workers' settings differ in --learning-rate " in last  # not in --worker-timeout
                and f"(worker {index}, this one, has --learning-rate={rate})" in last
                and "settings hash of each: worker 0 " in last), last
    assert not (tmp_path / "run" / "checkpoint.json").exists()


def test_a_recipe_with_its_own_flags_refuses_other_flags_too(tmp_path):
    """zoo.cli.run_distributed (zoo.distribute.recipe_strategy) compares the settings before the recipe runs."""
    common = ["-m", "recipes.pretrain_mnist", "--strategy", "multi_worker", "--out-dir", str(tmp_path / "out")]
    results = differing_workers([[*common, "--pretrain-epochs", "1"], [*common, "--pretrain-epochs", "2"]], tmp_path)
    for code, _, err in results:
        assert code == 1 and err.count("\n") == 1, err[-3000:]
        assert "the workers' settings differ in --pretrain-epochs " in err, err


def test_a_late_worker_joins_and_sigterm_mid_run_removes_its_scratch_dir(mnist_dir, tmp_path):
    """Worker 1 starts while worker 0 waits for it; they train together; SIGTERM ends worker 1 in one line, its scratch
    directory removed, and the chief says how to resume."""
    run_dir = tmp_path / "run"
    args = ["-m", "recipes.vae_mnist", "--data-dir", mnist_dir, "--strategy", "multi_worker", "--train-limit", "6000",
            "--batch-size", "100", "--hidden-units", "32", "--latent-dim", "2", "--epochs", "4", "--eval-samples", "2",
            "--run-dir", str(run_dir), "--export-dir", "", "--worker-timeout", "120"]
    configs = cluster.local_cluster(2)
    workers = [start_worker(args, configs[0], tmp_path)]
    wait_until_listening(address_of(configs[0]), workers[0])
    time.sleep(3)
    workers.append(start_worker(args, configs[1], tmp_path))
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    while epochs_done(run_dir) < 1 and time.monotonic() < deadline and workers[0].poll() is None:
        time.sleep(0.05)
    assert epochs_done(run_dir) >= 1
    assert [name.startswith(f"zoo-worker-1-pid{workers[1].pid}-") for name in worker_dirs(tmp_path)] == [True]
    sent = time.monotonic()
    workers[1].send_signal(signal.SIGTERM)
    code, _, err = finished(workers[1], timeout=30)
    assert time.monotonic() - sent < 10
    assert code == 143 and err.strip().splitlines()[-1].startswith("stopped by SIGTERM"), err[-3000:]
    assert worker_dirs(tmp_path) == []
    code, _, err = finished(workers[0])  # the chief notices, and ends with one line
    assert code == 1 and "restart every worker" in err.strip().splitlines()[-1], err[-3000:]
