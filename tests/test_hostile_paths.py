"""Paths a hostile (or careless) user hands the zoo: nothing the user owns is touched. Run, output and search
dirs are new, empty or marked as the zoo's; an export replaces only an artifact the zoo exported; symbolic links
inside them are refused; locks are taken before any work. Each test failed before its fix."""

import os
import subprocess
import sys

import pytest

import zoo
from tests.conftest import ROOT
from tests.test_flags_hostile import CONFIGS, flag_fields
from zoo import export, files
from zoo.errors import ZooError

SMALL = ["--train-limit", "500", "--batch-size", "100", "--epochs", "1", "--eval-samples", "2", "--xla", "off",
         "--precision", "float32", "--hidden-units", "16", "--latent-dim", "2"]


def run(args, cwd, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def vae_recipe(mnist_dir, cwd, *args):
    return run(["-m", "recipes.vae_mnist", "--data-dir", mnist_dir, *SMALL, *args], cwd)


def assert_one_line(result, status, *words):
    assert result.returncode == status, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and all(word in errors[0] for word in words), result.stderr[-3000:]


def snapshot(directory):
    """{relative path: bytes} of every file under `directory` (links not followed)."""
    return {str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*"))
            if path.is_file() and not path.is_symlink()}


@pytest.fixture
def trained_run(mnist_dir, tmp_path):
    """A finished one-epoch run dir of recipes.vae_mnist (not exported)."""
    result = vae_recipe(mnist_dir, tmp_path, "--run-dir", "runs/vae", "--export-dir", "")
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp_path / "runs" / "vae"


def test_an_export_dir_holding_the_users_files_is_refused_before_training(mnist_dir, tmp_path):
    users = tmp_path / "mine"
    users.mkdir()
    (users / "thesis.txt").write_text("three years of work")
    result = vae_recipe(mnist_dir, tmp_path, "--run-dir", "run", "--export-dir", str(users))
    assert_one_line(result, 2, "--export-dir", str(users), "thesis.txt", "not an artifact")
    assert (users / "thesis.txt").read_text() == "three years of work"
    assert not (tmp_path / "run").exists()  # refused before any work


def test_an_existing_file_as_the_export_dir_is_refused_and_kept(mnist_dir, tmp_path):
    (tmp_path / "notes").write_text("mine")
    result = vae_recipe(mnist_dir, tmp_path, "--run-dir", "run", "--export-dir", "notes")
    assert_one_line(result, 2, "--export-dir", "is a file")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes"]
    assert (tmp_path / "notes").read_text() == "mine"


@pytest.mark.parametrize("export_dir", ["runs/vae", "runs", "."])
def test_the_run_dir_or_a_directory_holding_it_is_refused_as_the_export_dir(mnist_dir, trained_run, export_dir):
    before = snapshot(trained_run)
    result = vae_recipe(mnist_dir, trained_run.parent.parent, "--run-dir", "runs/vae", "--export-dir", export_dir)
    assert_one_line(result, 2, "--export-dir")
    assert snapshot(trained_run) == before


def test_exporting_into_a_users_directory_from_the_api_is_refused_too(tmp_path):
    """Recipes that export from code (anomaly detectors per digit, AutoRec) go through the same check."""
    users = tmp_path / "mine"
    users.mkdir()
    (users / "thesis.txt").write_text("mine")
    with pytest.raises(ZooError, match="not an artifact of the zoo"):
        export.export(zoo.get("ae", latent_dim=2, hidden_units=(8,)), users, {"model": "ae"})
    assert sorted(path.name for path in users.iterdir()) == ["thesis.txt"]
    artifact = export.export(zoo.get("ae", latent_dim=2, hidden_units=(8,)), tmp_path / "artifact", {"model": "ae"})
    export.export(zoo.get("ae", latent_dim=2, hidden_units=(8,)), artifact, {"model": "ae"})  # its own: replaced
    (artifact / "extra.txt").write_text("added by the user")
    with pytest.raises(ZooError, match="extra.txt"):
        export.export(zoo.get("ae", latent_dim=2, hidden_units=(8,)), artifact, {"model": "ae"})
    assert (artifact / "extra.txt").exists()


def test_a_lock_file_linked_outside_the_run_dir_is_refused_and_its_target_kept(mnist_dir, trained_run, tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("do not truncate")
    (trained_run / ".lock").unlink()
    (trained_run / ".lock").symlink_to(target)
    result = vae_recipe(mnist_dir, tmp_path, "--run-dir", "runs/vae", "--export-dir", "")
    assert_one_line(result, 2, "symbolic link", ".lock")
    assert target.read_text() == "do not truncate"
    with pytest.raises(ZooError, match="symbolic link"):
        files.hold_lock(trained_run / ".lock", "the run dir")
    assert target.read_text() == "do not truncate"


def test_a_checkpoint_file_linked_outside_the_run_dir_is_not_trained_from(mnist_dir, trained_run, tmp_path):
    outside = tmp_path / "elsewhere.keras"
    os.replace(trained_run / "epoch-0001.keras", outside)
    (trained_run / "epoch-0001.keras").symlink_to(outside)
    state = (trained_run / "checkpoint.json").read_text()
    result = vae_recipe(mnist_dir, tmp_path, "--run-dir", "runs/vae", "--export-dir", "")
    assert_one_line(result, 2, "symbolic link", "epoch-0001.keras")
    assert (trained_run / "checkpoint.json").read_text() == state and outside.exists()


def test_an_empty_run_dir_writes_nothing_into_the_current_directory(mnist_dir, tmp_path):
    result = vae_recipe(mnist_dir, tmp_path, "--run-dir", "", "--export-dir", "")
    assert_one_line(result, 2, "--run-dir", "empty path")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("run_dir", [".", "mine"])
def test_a_directory_of_the_users_is_refused_as_the_run_dir(mnist_dir, tmp_path, run_dir):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    result = vae_recipe(mnist_dir, tmp_path, "--run-dir", run_dir, "--export-dir", "")
    assert_one_line(result, 2, "--run-dir", "did not make")
    assert snapshot(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_a_directory_the_zoo_made_for_another_purpose_is_refused(tmp_path):
    files.owned_dir(tmp_path / "search", "the search dir")
    assert files.owned_dir_problem(tmp_path / "search", "the search dir") is None
    assert "is the search dir of the zoo, not the run dir" in files.owned_dir_problem(tmp_path / "search", files.RUN_DIR)


def test_files_named_like_temporaries_are_removed_only_if_the_zoo_wrote_them_and_the_writer_is_gone(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    users = tmp_path / "tmp-1-notes.txt"
    users.write_text("mine")
    left = files.temporary_sibling(tmp_path / "epoch-0001.keras").name.replace(str(os.getpid()), str(dead_pid))
    (tmp_path / left).write_bytes(b"half")
    alive = tmp_path / f"{files.TEMPORARY_PREFIX}1-epoch-0002.keras"  # pid 1: a live writer
    alive.write_bytes(b"being written")
    target = tmp_path / "target.txt"
    target.write_text("kept")
    link = tmp_path / f"{files.TEMPORARY_PREFIX}{dead_pid}-link.keras"
    link.symlink_to(target)
    files.remove_temporaries(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([users.name, alive.name, "target.txt",
                                                                         link.name])
    assert target.read_text() == "kept"


HOLD = """
import sys, time
from zoo import files
getattr(files, sys.argv[1])(sys.argv[2], *sys.argv[3:])
print("held", flush=True)
time.sleep(120)
"""


@pytest.fixture
def held_by_another_process():
    """`hold(function, path, *args)`: a process that calls zoo.files.<function>(path, *args) (a claim with its lock)
    and keeps it until killed; returns its pid."""
    processes = []

    def hold(function, path, *args):
        process = subprocess.Popen([sys.executable, "-c", HOLD, function, str(path), *args], cwd=ROOT, text=True,
                                   stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert process.stdout.readline().strip() == "held"
        processes.append(process)
        return process.pid

    yield hold
    for process in processes:
        process.kill()
        process.wait()


def test_a_second_process_on_one_export_dir_stops_before_training(mnist_dir, tmp_path, held_by_another_process):
    pid = held_by_another_process("claim_export_dir", tmp_path / "artifact")
    result = vae_recipe(mnist_dir, tmp_path, "--run-dir", "run", "--export-dir", "artifact")
    assert_one_line(result, 1, f"in use by process {pid}")
    assert not (tmp_path / "run" / "checkpoint.json").exists()


def test_a_second_autorec_on_one_out_dir_stops_at_once(movielens_dir, tmp_path, held_by_another_process):
    from recipes import autorec_movielens

    pid = held_by_another_process("owned_dir", tmp_path / "out", autorec_movielens.OUT_DIR)
    result = run(["-m", "recipes.autorec_movielens", "--data-dir", movielens_dir, "--out-dir", str(tmp_path / "out"),
                  "--splits", "1"], tmp_path, timeout=120)
    assert_one_line(result, 1, f"in use by process {pid}")
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [".lock", ".zoo"]


OWNED_DIR_FLAGS = [(name, config_cls, field) for name, config_cls in CONFIGS for field in flag_fields(config_cls)
                   if getattr(field.metadata["check"], "purpose", None)]


def test_every_directory_the_zoo_writes_and_deletes_in_is_checked():
    names = {(name, field.name) for name, _, field in OWNED_DIR_FLAGS}
    assert {("recipes.vae_mnist", "run_dir"), ("recipes.autorec_movielens", "out_dir"), ("tuning.search", "out"),
            ("recipes.anomaly_mnist", "run_dir"), ("recipes.pretrain_mnist", "out_dir")} <= names, names


@pytest.mark.parametrize("name, config_cls, field", OWNED_DIR_FLAGS,
                         ids=[f"{name}--{field.name}" for name, _, field in OWNED_DIR_FLAGS])
def test_every_owned_directory_flag_refuses_an_empty_path_a_file_and_a_users_directory(name, config_cls, field,
                                                                                     tmp_path, capsys):
    from zoo import flags

    (tmp_path / "file").write_text("mine")
    (tmp_path / "users").mkdir()
    (tmp_path / "users" / "notes.txt").write_text("mine")
    flag = "--" + field.name.replace("_", "-")
    for value, words in [("", "empty path"), (str(tmp_path / "file"), "is a file"),
                         (str(tmp_path / "users"), "did not make"), ("x" * 300, "File name too long")]:
        with pytest.raises(SystemExit) as exit_info:
            flags.parse(config_cls, [flag, value], prog=name)
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and err.count("\n") == 1 and flag in err and words in err, err
    assert (tmp_path / "file").read_text() == "mine" and (tmp_path / "users" / "notes.txt").read_text() == "mine"


def test_a_device_or_fifo_is_never_replaced_by_a_file(tmp_path):
    import stat

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target in (fifo, "/dev/null"):
        with pytest.raises(ZooError, match="not a regular file"):
            files.atomic_write_text(target, "results")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and stat.S_ISCHR(os.lstat("/dev/null").st_mode)


FILE_FLAGS = [(name, config_cls, field) for name, config_cls in CONFIGS for field in flag_fields(config_cls)
              if field.metadata["check"] is not None and getattr(field.metadata["check"], "__name__", "") == "file_path"]


def test_every_results_file_flag_is_checked():
    assert {("benchmarks.serving_http", "out"), ("benchmarks.training_speed", "out")} <= {
        (name, field.name) for name, _, field in FILE_FLAGS}


@pytest.mark.parametrize("name, config_cls, field", FILE_FLAGS, ids=[f"{name}--{field.name}" for name, _, field in FILE_FLAGS])
def test_every_results_file_flag_refuses_a_device_a_directory_and_an_empty_path(name, config_cls, field, tmp_path,
                                                                               capsys):
    from zoo import flags

    flag = "--" + field.name.replace("_", "-")
    for value, words in [("/dev/null", "not a regular file"), (str(tmp_path), "is a directory"), ("", "empty path")]:
        with pytest.raises(SystemExit) as exit_info:
            flags.parse(config_cls, [flag, value], prog=name)
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and err.count("\n") == 1 and flag in err and words in err, err
