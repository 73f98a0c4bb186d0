"""Hostile inputs where a command once gave a traceback or ran out of memory: directories that are not artifacts
given to artifact flags, compression bombs and oversized MovieLens ids, data too small to split, flag combinations
that silently did nothing. Each stops with one line naming the path (or the flag) and what is wrong."""

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_python

SAVED = ROOT / "saved_models"


def not_an_artifact(tmp_path, card=None, files=("card.json",)):
    """A directory with some of an artifact's files: card.json holding `card` (text), the others empty."""
    directory = tmp_path / "fake"
    directory.mkdir()
    for name in files:
        (directory / name).write_text(card if name == "card.json" and card is not None else "")
    return directory


ARTIFACT_CASES = {  # id -> (command, flags before the path, the path (a function of tmp_path), what the line says)
    "latent_moves, an empty directory": (
        "recipes.latent_moves", ["--artifact"], lambda tmp: tmp, "holds no card.json and no saved_model.pb"),
    "latent_moves, a file": (
        "recipes.latent_moves", ["--artifact"], lambda tmp: ROOT / "README.md", "is not a directory"),
    "latent_moves, a classifier": (
        "recipes.latent_moves", ["--artifact"], lambda tmp: SAVED / "mnist_classifier",
        "has no decode and encode or generate endpoint (its card.json lists classify)"),
    "restore_mnist, card.json and no saved_model.pb": (
        "recipes.restore_mnist", ["--denoiser"], lambda tmp: not_an_artifact(tmp, "{}"), "holds no saved_model.pb"),
    "restore_mnist, a VAE as denoiser": (
        "recipes.restore_mnist", ["--denoiser"], lambda tmp: SAVED / "vae_mnist", "has no restore endpoint"),
    "gan_mnist, a directory as classifier": (
        "recipes.gan_mnist", ["--frechet-every", "1", "--validation-size", "100", "--frechet-classifier"],
        lambda tmp: tmp, "holds no card.json"),
    "gan_mnist, a VAE as classifier": (
        "recipes.gan_mnist", ["--frechet-every", "1", "--validation-size", "100", "--frechet-classifier"],
        lambda tmp: SAVED / "vae_mnist", "has no classify endpoint"),
    "refresh, a card that is a list": (
        "zoo.refresh", ["--artifacts"], lambda tmp: not_an_artifact(tmp, "[]", ("card.json", "saved_model.pb",
                                                                                 "model.keras")),
        "card.json holds a JSON list, not an object"),
    "refresh, no model.keras": (
        "zoo.refresh", ["--artifacts", str(SAVED / "vae_mnist")],
        lambda tmp: not_an_artifact(tmp, "{}", ("card.json", "saved_model.pb")), "holds no model.keras"),
    "refresh, a card nested too deep": (
        "zoo.refresh", ["--artifacts"], lambda tmp: not_an_artifact(tmp, "[" * 100_000, ("card.json", "saved_model.pb",
                                                                                          "model.keras")),
        "card.json is not JSON"),
    "refresh, a card larger than a megabyte": (
        "zoo.refresh", ["--artifacts"], lambda tmp: not_an_artifact(tmp, " " * 2_000_000, ("card.json",
                                                                                             "saved_model.pb",
                                                                                             "model.keras")),
        "card.json is larger than 1,000,000 bytes"),
    "ae_mixture_mnist, /etc/passwd": (
        "recipes.ae_mixture_mnist", ["--autoencoder"], lambda tmp: "/etc/passwd", "is not a zip"),
    "ae_mixture_mnist, /dev/zero": (
        "recipes.ae_mixture_mnist", ["--autoencoder"], lambda tmp: "/dev/zero", "is not a regular file"),
    "ae_mixture_mnist, a VAE": (
        "recipes.ae_mixture_mnist", ["--autoencoder"], lambda tmp: SAVED / "vae_mnist" / "model.keras",
        "holds a zoo.models.vae.VAE, not a zoo.models.ae.AE"),
    "pretrain_mnist, an autoencoder as feature VAE": (
        "recipes.pretrain_mnist", ["--feature-vae"], lambda tmp: SAVED / "ae_mnist", "holds a 'ae' model"),
    "evaluation_speed, a directory": (
        "benchmarks.evaluation_speed", ["--model-dir"], lambda tmp: tmp, "holds no card.json"),
    "sample_quality, a VAE as classifier": (
        "benchmarks.sample_quality", ["--classifier"], lambda tmp: SAVED / "vae_mnist", "has no classify endpoint"),
    "serving_speed, an autoencoder without sample": (
        "benchmarks.serving_speed", ["--model-dir"], lambda tmp: SAVED / "ae_mnist",
        "has no reconstruct and sample and score endpoint"),
    "serving_http, a model that is not there": (
        "benchmarks.serving_http", ["--models", str(SAVED), "--model"], lambda tmp: "no_such_model", "does not exist"),
    "serving_http, a signature the model lacks": (
        "benchmarks.serving_http", ["--signature", "restore", "--model"], lambda tmp: "vae_mnist",
        "has no restore endpoint"),
}


@pytest.mark.parametrize("case", ARTIFACT_CASES)
def test_an_artifact_flag_refuses_what_is_not_such_an_artifact_in_one_line(case, tmp_path):
    module, before, path_of, says = ARTIFACT_CASES[case]
    path = str(path_of(tmp_path))
    result = run_python(["-c", f"import sys, runpy; sys.argv[0] = {module!r}; import zoo.flags\n"
                               f"try:\n    runpy.run_module({module!r}, run_name='__main__')\n"
                               "finally:\n    print('tensorflow' in sys.modules)",
                         *before, path], timeout=120)
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.count("\n") == 1 and path in result.stderr and says in result.stderr, result.stderr
    assert result.stdout == "False\n"  # refused before TensorFlow started


# MovieLens: ids, counts and sizes checked before a dense matrix is allocated or a model is fit.

def write_u_data(directory, rows):
    directory.mkdir(exist_ok=True)
    (directory / "u.data").write_text("".join(f"{user}\t{item}\t{rating}\t881250949\n" for user, item, rating in rows))
    return directory / "u.data"


def test_ids_that_would_make_a_37_gib_rating_matrix_are_refused_before_it_is_allocated(tmp_path):
    from zoo import movielens
    from zoo.errors import DataError

    path = write_u_data(tmp_path / "ml", [(i, i, 3) for i in range(1, 100_001)])  # 100,000 users, 100,000 items
    with pytest.raises(DataError) as error:
        movielens.load_ratings(path.parent)
    message = str(error.value)
    assert str(path) in message and "100000 users" in message and "100000 items" in message and "\n" not in message


def test_more_ratings_than_a_movielens_file_holds_are_refused_while_reading(tmp_path, monkeypatch):
    from zoo import movielens
    from zoo.errors import DataError

    monkeypatch.setattr(movielens, "MAX_RATINGS", 10, raising=False)
    path = write_u_data(tmp_path / "ml", [(i, 1, 3) for i in range(1, 12)])
    with pytest.raises(DataError, match=f"{path}, line 11: more than 10 ratings"):
        movielens.load_ratings(path.parent)


def test_a_u_data_too_small_to_split_is_one_line_naming_the_file_the_count_and_the_minimum(tmp_path):
    path = write_u_data(tmp_path / "ml", [(1, 1, 5), (2, 2, 3), (3, 3, 4)])
    out = tmp_path / "out"
    result = run_python(["-m", "recipes.autorec_movielens", "--data-dir", str(path.parent), "--splits", "1",
                         "--epochs", "1", "--mf-epochs", "1", "--hidden-units", "4", "--out-dir", str(out)])
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.count("\n") == 1 and str(path) in result.stderr, result.stderr
    assert "3 ratings" in result.stderr and "at least 7" in result.stderr, result.stderr
    assert not (out / "results.json").exists()


def test_a_nan_validation_rmse_is_never_written_to_the_results(tmp_path, monkeypatch):
    import numpy as np

    from recipes import autorec_movielens
    from zoo import recommenders
    from zoo.errors import ZooError

    class NaNPredictor(recommenders.GlobalMean):
        def predict(self, rows):
            return np.full(len(rows), np.nan)

    monkeypatch.setitem(recommenders.PREDICTORS, "global_mean", NaNPredictor)
    rng = np.random.default_rng(0)
    path = write_u_data(tmp_path / "ml", [(u, i, rng.integers(1, 6)) for u in range(1, 11) for i in range(1, 11)])
    out = tmp_path / "out"
    with pytest.raises(ZooError, match="global_mean.*validation RMSE nan"):
        autorec_movielens.main(["--data-dir", str(path.parent), "--splits", "1", "--epochs", "1", "--mf-epochs", "1",
                                "--hidden-units", "4", "--out-dir", str(out)])
    saved = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {"results": {}}
    assert saved["results"] == {}


@pytest.mark.parametrize("argv, allowed", [(["--vae-budgets", "7"], "100 1000"),
                                           (["--budgets", "1000", "60000"], "1000"),
                                           (["--budgets", "60000"], "none")])
def test_vae_budgets_outside_the_budgets_are_refused_at_the_command_line(argv, allowed, capsys):
    from recipes.pretrain_mnist import PretrainMnistConfig
    from zoo import flags

    with pytest.raises(SystemExit) as stop:
        flags.parse(PretrainMnistConfig, argv, prog="cmd")
    line = capsys.readouterr().err
    assert stop.value.code == 2 and line.count("\n") == 1 and "--vae-budgets" in line, line
    assert f"--budgets below 60000: {allowed}" in line and "--methods" in line, line


def test_vae_budgets_need_not_be_budgets_when_no_vae_method_runs():
    from recipes.pretrain_mnist import PretrainMnistConfig
    from zoo import flags

    settings = flags.parse(PretrainMnistConfig, ["--budgets", "60000", "--methods", "random", "pretrained"])
    assert settings.vae_budgets == (100,)


# Paths that pass their flag's check but hold something else when they are read: one ZooError naming the path.

def test_a_file_that_is_not_a_keras_model_is_a_zoo_error_naming_it():
    import zoo
    from zoo.errors import ZooError

    with pytest.raises(ZooError, match="/etc/passwd: cannot be loaded as a model of this zoo"):
        zoo.load("/etc/passwd")


def test_a_corrupt_saved_model_is_a_zoo_error_naming_its_directory(tmp_path):
    import zoo
    from zoo.errors import ZooError

    directory = not_an_artifact(tmp_path, '{"endpoints": ["classify"]}', ("card.json", "saved_model.pb"))
    (directory / "saved_model.pb").write_bytes(b"\xff garbage")
    with pytest.raises(ZooError, match=f"{directory}: cannot be loaded as a SavedModel"):
        zoo.load_artifact(directory, {"classify"})


def test_a_card_listing_endpoints_the_saved_model_lacks_is_a_zoo_error(tmp_path):
    import shutil

    import zoo
    from zoo.errors import ZooError

    directory = Path(shutil.copytree(SAVED / "ae_mnist", tmp_path / "ae_mnist"))
    card = json.loads((directory / "card.json").read_text())
    (directory / "card.json").write_text(json.dumps({**card, "endpoints": [*card["endpoints"], "restore"]}))
    with pytest.raises(ZooError, match="lists endpoints that its SavedModel does not have"):
        zoo.load_artifact(directory, {"restore"})


def test_a_card_that_is_a_fifo_is_refused_without_waiting_on_it(tmp_path):
    import os

    import zoo
    from zoo.errors import ZooError

    os.mkfifo(tmp_path / "card.json")  # open() would wait for a writer forever
    with pytest.raises(ZooError, match="card.json is not a regular file"):
        zoo.card(tmp_path)


def test_the_server_refuses_a_model_whose_card_is_not_json_in_one_line(tmp_path):
    import shutil

    from zoo import servables
    from zoo.errors import ZooError

    directory = Path(shutil.copytree(SAVED / "mnist_classifier", tmp_path / "models" / "classifier"))
    (directory / "card.json").write_text("{not json")
    with pytest.raises(ZooError, match=f"{directory / 'card.json'} is not JSON"):
        servables.load_all(tmp_path / "models", log=lambda line: None)


@pytest.mark.parametrize("card, says", [("{}", 'no "flags" and "metrics" objects'),
                                        ('{"flags": {}, "metrics": {}}', "model.keras: cannot be loaded")])
def test_refresh_of_a_foreign_card_or_a_corrupt_model_keras_names_the_file(tmp_path, card, says):
    from zoo import pipeline
    from zoo.errors import ZooError

    directory = not_an_artifact(tmp_path, card, ("card.json", "saved_model.pb", "model.keras"))
    with pytest.raises(ZooError, match=says):
        pipeline.refresh(directory)


def test_an_mnist_file_that_is_a_directory_or_a_fifo_is_named_as_such(tmp_path):
    import os

    from zoo import data
    from zoo.errors import DataError

    (tmp_path / "train-images-idx3-ubyte").mkdir()
    with pytest.raises(DataError, match="train-images-idx3-ubyte: not a regular file"):
        data.mnist_files(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").rmdir()
    os.mkfifo(tmp_path / "train-images-idx3-ubyte")
    with pytest.raises(DataError, match="train-images-idx3-ubyte: not a regular file"):
        data.read_mnist_dir(tmp_path)


def test_a_u_data_that_is_a_directory_or_one_endless_line_is_one_short_line(tmp_path):
    from zoo import movielens
    from zoo.errors import DataError

    (tmp_path / "dir" / "u.data").mkdir(parents=True)
    with pytest.raises(DataError, match="u.data is not a regular file"):
        movielens.load_ratings(tmp_path / "dir")
    (tmp_path / "long").mkdir()
    (tmp_path / "long" / "u.data").write_text("1" * 10_000_000)
    with pytest.raises(DataError, match="line 1: longer than 200 characters") as error:
        movielens.load_ratings(tmp_path / "long")
    assert len(str(error.value)) < 400


@pytest.mark.parametrize("module, argv, says", [
    ("benchmarks.default_recipe", ["--before", "/tmp"], "--before takes a checkout of this code; /tmp holds no"),
    ("benchmarks.default_recipe", ["--before", str(ROOT), "--extra-flags", '"'],
     "--extra-flags takes flags as one shell-quoted string"),
    ("benchmarks.distributed_training", ["--recipe-flags", "--epochs '1"],
     "--recipe-flags takes flags as one shell-quoted string"),
    ("recipes.vae_mnist", ["--data-dir", ""], "--data-dir takes a directory; received an empty path"),
])
def test_flags_a_benchmark_or_recipe_once_failed_on_later_exit_2_in_one_line(module, argv, says, capsys):
    import importlib

    config_cls = next(value for value in vars(importlib.import_module(module)).values()
                      if isinstance(value, type) and value.__name__.endswith("Config") and value.__module__ == module)
    from zoo import flags

    with pytest.raises(SystemExit) as stop:
        flags.parse(config_cls, argv, prog="cmd")
    line = capsys.readouterr().err
    assert stop.value.code == 2 and line.count("\n") == 1 and says in line, line


def test_a_recipe_a_benchmark_runs_that_fails_is_one_line_with_its_last_words():
    import sys

    from benchmarks import data_dir_flag, run_checked
    from zoo.errors import ZooError

    with pytest.raises(ZooError, match=r"exited with status 3: the recipe's own last line$"):
        run_checked([sys.executable, "-c", "import sys; print('noise', file=sys.stderr); "
                                           "print(\"the recipe's own last line\", file=sys.stderr); sys.exit(3)"])
    assert data_dir_flag(None) == [] and data_dir_flag("data") == ["--data-dir", str(Path("data").resolve())]


def test_a_number_flag_without_a_default_takes_numbers_only(capsys):
    from benchmarks.distributed_training import DistributedTrainingConfig
    from zoo import flags

    assert flags.parse(DistributedTrainingConfig, ["--target-loss", "90.5"]).target_loss == 90.5
    assert flags.parse(DistributedTrainingConfig, []).target_loss is None
    for value in ("abc", "nan", "-1"):
        with pytest.raises(SystemExit):
            flags.parse(DistributedTrainingConfig, ["--target-loss", value], prog="cmd")
        line = capsys.readouterr().err
        assert line.count("\n") == 1 and "--target-loss" in line, line


def test_a_keras_archive_declaring_more_than_a_model_holds_is_refused_before_it_is_inflated(tmp_path, monkeypatch):
    import zipfile

    from zoo import flags

    monkeypatch.setattr(flags, "MAX_ARCHIVE_BYTES", 10_000, raising=False)
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps({"module": "zoo.models.ae", "class_name": "AE"}))
        archive.writestr("model.weights.h5", bytes(20_000))  # 20 kB of zeros in a few dozen bytes
    problem = flags.keras_archive("zoo.models.ae.AE")("--autoencoder", str(path))
    assert problem and str(path) in problem and "more than 10000" in problem, problem
    directory = not_an_artifact(tmp_path, "{}", ("card.json", "saved_model.pb"))
    (directory / "model.keras").write_bytes(path.read_bytes())
    problem = flags.artifact_dir(files=("model.keras",))("--artifacts", (str(directory),))
    assert problem and "declares 20" in problem, problem
