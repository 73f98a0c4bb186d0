"""Keras Tuner searches (tuning.search): each tuner type, resume, chief/worker mode, and bad input."""

import csv
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT, run_python
from zoo.cluster import free_port

TINY = ["--model", "vae", "--space", "latent_dim", "--epochs", "2", "--train-limit", "1000", "--validation-size",
        "500", "--final-epochs", "0"]


def trial_table(out):
    with open(out / "trials.csv") as file:
        return list(csv.DictReader(file))


def trial_events(out):
    return [json.loads(line) for line in (out / "trial_log.jsonl").read_text().splitlines()]


def test_spaces_live_beside_the_models():
    from tuning.spaces import tunable_spaces

    spaces = tunable_spaces()
    for model in ("vae", "ae", "sparse_ae"):
        (latent,) = spaces[model]["latent_dim"]
        assert (latent.low, latent.high, latent.sampling) == (2, 128, "log")
    rho, beta = spaces["sparse_ae"]["rho"]
    assert (rho.name, rho.low, rho.high, rho.sampling) == ("rho", 0.01, 0.3, "log")
    assert beta.name == "sparsity_weight"
    assert "gan" not in spaces and "mnist_classifier" not in spaces


def test_a_tuner_told_idle_waits_before_asking_again(tmp_path, monkeypatch):
    import keras_tuner as kt

    from tuning import search, trials, tuner

    class IdleOnceOracle(kt.oracles.RandomSearchOracle):
        """Has no trial for the first ask, as Hyperband tells a worker waiting for its round to end."""

        asks = 0

        def populate_space(self, trial_id):
            self.asks += 1
            return {"status": "IDLE"} if self.asks == 1 else super().populate_space(trial_id)

    hp = kt.HyperParameters()
    hp.Int("latent_dim", 2, 128)
    oracle = IdleOnceOracle(objective=kt.Objective("val_loss", "min"), hyperparameters=hp, max_trials=1, seed=1)
    sleeps, ran = [], []
    monkeypatch.setattr(tuner.time, "sleep", sleeps.append)
    monkeypatch.setattr(trials, "train_trial", lambda search, trial, tuner_id: ran.append(trial.trial_id) or
                        {"val_loss": 1.0})
    settings = search.SearchConfig(out=str(tmp_path))
    tuner.ZooTuner(settings, oracle, directory=str(tmp_path), project_name="oracle").search()
    assert ran == ["0"]  # asked: IDLE, then the one trial, then STOPPED
    assert sleeps == [tuner.IDLE_WAIT_SECONDS]  # before the ask after IDLE; not before the first, nor after a trial
    assert [e["event"] for e in trial_events(tmp_path)] == ["end"]


@pytest.mark.parametrize("argv, message", [
    (["--model", "gan"], "--model 'gan' has no search space; tunable models: ae,"),
    (["--model", "vae", "--space", "rho"], "--space 'rho' is not a search space of vae; its spaces: latent_dim"),
    (["--max-trials", "0"], "--max-trials must be in 1..10000; received --max-trials=0"),
    (["--max-trials", "-3"], "--max-trials must be in 1..10000; received --max-trials=-3"),
    (["--tuner", "grid"], "argument --tuner: invalid choice: 'grid'"),
    (["--objective", "val_nope"], "--objective 'val_nope' is not logged for vae; choose one of val_loss, "),
    (["--model", "sparse_ae", "--space", "rho", "--objective", "val_probe_accuracy", "--direction", "min"],
     "val_probe_accuracy is to be maximized; received --direction min"),
])
def test_bad_flags_exit_2_with_one_line(argv, message):
    result = run_python(["-m", "tuning.search", *argv])
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


@pytest.mark.parametrize("env, message", [
    ({"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": "80a", "KERASTUNER_TUNER_ID": "chief"},
     "KERASTUNER_ORACLE_PORT must be a port number in 1..65535; received '80a'"),
    ({"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": "8000"}, "KERASTUNER_TUNER_ID must name"),
])
def test_incomplete_cluster_variables_exit_2_with_one_line(env, message):
    result = run_python(["-m", "tuning.search"], env=env)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_chief_refuses_a_port_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"KERASTUNER_TUNER_ID": "chief", "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port)}
        result = run_python(["-m", "tuning.search", "--out", str(tmp_path)], env=env)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert f"cannot serve its oracle on 127.0.0.1:{port}" in result.stderr and "KERASTUNER_ORACLE_PORT" in result.stderr


@pytest.mark.parametrize("tuner", ["hyperband", "random", "bayesian"])
def test_two_trial_search(tuner, mnist_dir, tmp_path):
    from tuning import search

    out = tmp_path / tuner
    search.main([*TINY, "--tuner", tuner, "--max-trials", "2", "--data-dir", mnist_dir, "--out", str(out)])
    rows = trial_table(out)
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED"]
    for row in rows:
        assert 2 <= int(row["latent_dim"]) <= 128 and math.isfinite(float(row["val_loss"])) and float(row["seconds"]) > 0
    assert (out / "trials.md").read_text().count("\n") == 4 and (out / "objective.png").stat().st_size > 10_000
    best = min(rows, key=lambda row: float(row["val_loss"]))
    assert f"best: trial {best['trial']}" in (out / "summary.md").read_text()


def test_hyperband_continues_a_trial_of_the_previous_round(mnist_dir, tmp_path):
    from tuning import search

    out = tmp_path / "hyperband"
    search.main([*TINY, "--tuner", "hyperband", "--epochs", "3", "--max-trials", "4", "--data-dir", mnist_dir,
                 "--out", str(out)])
    rows = trial_table(out)
    assert [row["status"] for row in rows] == ["COMPLETED"] * 4
    assert [row["epochs"] for row in rows] == ["1", "1", "1", "3"]
    continued, source = rows[3], rows[int(rows[3]["continued_from"])]
    assert continued["latent_dim"] == source["latent_dim"]
    history = json.loads((out / "trials" / "3" / "checkpoint.json").read_text())["history"]
    source_history = json.loads((out / "trials" / source["trial"] / "checkpoint.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3] and history[0] == source_history[0]
    assert float(continued["val_loss"]) == pytest.approx(history[-1]["val_loss"])


def test_best_configuration_is_retrained_and_exported_naming_its_search(mnist_dir, tmp_path):
    from tuning import search

    out = tmp_path / "search"
    argv = ["--model", "sparse_ae", "--space", "rho", "--objective", "val_probe_accuracy", "--tuner", "random",
            "--max-trials", "2", "--epochs", "1", "--train-limit", "1000", "--validation-size", "500",
            "--final-epochs", "1", "--no-compare-default", "--data-dir", mnist_dir, "--out", str(out)]
    search.main(argv)
    rows = trial_table(out)
    best = max(rows, key=lambda row: float(row["val_probe_accuracy"]))
    assert all(0.1 < float(row["val_probe_accuracy"]) <= 1 for row in rows)
    card = json.loads((out / "best" / "saved_model" / "card.json").read_text())
    assert card["search"]["best_trial"] == best["trial"] and card["search"]["directory"] == str(out)
    assert card["search"]["command"].startswith("python -m tuning.search --model sparse_ae --space rho")
    assert card["model_config"]["rho"] == pytest.approx(float(best["rho"]))
    assert card["model_config"]["sparsity_weight"] == pytest.approx(float(best["sparsity_weight"]))
    assert (out / "best" / "saved_model" / "saved_model.pb").exists()
    assert (out / f"best_trial{best['trial']}_1epochs" / "metrics.json").exists()
    assert not list(out.glob("default*"))  # --no-compare-default


def test_interrupted_search_resumes_without_repeating_finished_trials(mnist_dir, tmp_path):
    out = tmp_path / "search"
    argv = [sys.executable, "-m", "tuning.search", *TINY, "--tuner", "random", "--max-trials", "3",
            "--train-limit", "3000", "--data-dir", mnist_dir, "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    first = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not ((out / "trial_log.jsonl").exists() and any(e["event"] == "end" for e in trial_events(out))):
        assert first.poll() is None and time.time() < deadline, "the first trial never finished"
        time.sleep(0.2)
    assert first.poll() is None, "the search ended before it could be interrupted"
    first.send_signal(signal.SIGKILL)
    first.wait()
    ended_before = [e["trial"] for e in trial_events(out) if e["event"] == "end"]
    assert 1 <= len(ended_before) < 3

    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    ended = [e["trial"] for e in trial_events(out) if e["event"] == "end"]
    assert sorted(ended) == sorted(set(ended)) and len(ended) == 3  # every trial finished exactly once
    assert ended[:len(ended_before)] == ended_before
    assert [row["status"] for row in trial_table(out)] == ["COMPLETED"] * 3

    other = subprocess.run([*argv[:-2], "--epochs", "3", "--out", str(out)], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)
    assert other.returncode == 1 and "holds a search with other settings (epochs=2 there, epochs=3 now)" in other.stderr


def test_chief_and_two_workers_share_the_trials(mnist_dir, tmp_path):
    out = tmp_path / "search"
    argv = [sys.executable, "-m", "tuning.search", *TINY, "--tuner", "random", "--max-trials", "6", "--epochs", "1",
            "--data-dir", mnist_dir, "--out", str(out)]
    base_env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2",
                "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(free_port())}
    processes = {}
    for role in ("chief", "tuner0", "tuner1"):
        processes[role] = subprocess.Popen(argv, cwd=ROOT, env={**base_env, "KERASTUNER_TUNER_ID": role},
                                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        outputs = {role: process.communicate(timeout=420)[0] for role, process in processes.items()}
    finally:
        for process in processes.values():
            process.kill()
    for role, process in processes.items():
        assert process.returncode == 0, f"{role} failed:\n{outputs[role][-3000:]}"
    rows = trial_table(out)
    assert [row["status"] for row in rows] == ["COMPLETED"] * 6
    ends = [e for e in trial_events(out) if e["event"] == "end"]
    assert sorted(e["trial"] for e in ends) == sorted(row["trial"] for row in rows)  # each trial ran once
    by_worker = {tuner: sum(e["tuner"] == tuner for e in ends) for tuner in ("tuner0", "tuner1")}
    assert all(count >= 1 for count in by_worker.values()), by_worker
    assert {row["tuner"] for row in rows} == {"tuner0", "tuner1"}
    assert "the chief writes the results" in outputs["tuner0"] and "best trial" in outputs["chief"]
