"""Caches and reused results: each is keyed by everything that determines it and checked when read back; a cache of
other settings, or a damaged one, is recomputed with one line saying why (or refused in one line where nothing can
be recomputed, e.g. a checkpoint's weights). Each test failed before its fix."""

import contextlib
import io
import json
import re
import shutil

import pytest

from zoo import files
from zoo.errors import ZooError


def printed_by(function, *args, **kwargs):
    """(what `function` returns, what it printed)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        returned = function(*args, **kwargs)
    return returned, out.getvalue()


# The evaluation a finished run reuses (zoo.pipeline.publish, <run dir>/evaluation.json).

def small_vae_config(mnist_dir, run_dir, **changes):
    from recipes.vae_mnist import VAEMnistConfig

    settings = dict(data_dir=mnist_dir, train_limit=500, batch_size=100, epochs=1, hidden_units=(16,), latent_dim=2,
                    eval_samples=2, xla="off", precision="float32", run_dir=str(run_dir), export_dir="")
    return VAEMnistConfig(**{**settings, **changes})


@pytest.fixture(scope="module")
def published_run(mnist_dir, tmp_path_factory):
    """A finished, evaluated run of the small VAE and its measures."""
    from zoo import pipeline

    run_dir = tmp_path_factory.mktemp("published") / "run"
    measured = pipeline.publish(small_vae_config(mnist_dir, run_dir))
    return run_dir, measured


@pytest.fixture
def run_copy(published_run, tmp_path):
    run_dir, measured = published_run
    shutil.copytree(run_dir, tmp_path / "run")
    return tmp_path / "run", measured


def test_the_evaluation_of_another_run_definition_in_the_same_run_dir_is_not_reused(mnist_dir, run_copy):
    from zoo import pipeline

    run_dir, first = run_copy
    (run_dir / "checkpoint.json").unlink()
    (run_dir / "epoch-0001.keras").unlink()
    measured, out = printed_by(pipeline.publish, small_vae_config(mnist_dir, run_dir, latent_dim=3))
    assert "reusing the evaluation" not in out, out
    assert re.search(r"holds results of other settings \(latent_dim=2, .* there, latent_dim=3, .* now\)", out)
    assert measured["parameters"] != first["parameters"] and measured["test_nll_nats"] != first["test_nll_nats"]
    assert json.loads((run_dir / "metrics.json").read_text()) == measured


def test_the_evaluation_of_other_weights_under_the_same_checkpoint_is_not_reused(mnist_dir, run_copy, tmp_path):
    from zoo import pipeline, training

    run_dir, first = run_copy
    training.train(small_vae_config(mnist_dir, tmp_path / "other", seed=1), verbose=0)
    shutil.copy(tmp_path / "other" / "epoch-0001.keras", run_dir / "epoch-0001.keras")  # checkpoint.json unchanged

    measured, out = printed_by(pipeline.publish, small_vae_config(mnist_dir, run_dir))
    assert "reusing the evaluation" not in out and "weights=" in out
    assert measured["test_nll_nats"] != first["test_nll_nats"]


@pytest.mark.parametrize("planted", [{"test_nll_nats": -5.0}, {"test_nll_nats": "garbage"},
                                     {"test_nll_nats": float("nan")}, {"parameters": 7}, {"parameters": 2.5},
                                     {"epochs": 3}, "garbage", None, [1, 2]])
def test_damaged_evaluation_values_are_recomputed_with_a_line(mnist_dir, run_copy, planted):
    from zoo import pipeline

    run_dir, first = run_copy
    path = run_dir / "evaluation.json"
    stored = json.loads(path.read_text())
    test = stored["results"]["test"]
    stored["results"]["test"] = {**test, **planted} if isinstance(planted, dict) else planted
    path.write_text(json.dumps(stored))
    measured, out = printed_by(pipeline.publish, small_vae_config(mnist_dir, run_dir))
    assert "the result 'test' is damaged" in out and "reusing the evaluation" not in out
    assert measured["parameters"] == first["parameters"]
    assert measured["test_nll_nats"] == pytest.approx(first["test_nll_nats"], rel=1e-4)
    assert json.loads(path.read_text())["results"]["test"] == measured


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"settings": [], "data": "x", "results": {}}', ""])
def test_an_evaluation_file_that_cannot_be_read_is_moved_aside_and_recomputed(mnist_dir, run_copy, content):
    from zoo import pipeline

    run_dir, first = run_copy
    (run_dir / "evaluation.json").write_text(content)
    measured, out = printed_by(pipeline.publish, small_vae_config(mnist_dir, run_dir))
    assert "not a results file of this zoo" in out and "evaluating on the test set" in out
    assert (run_dir / "evaluation.json.damaged").read_text() == content
    assert measured["parameters"] == first["parameters"]


def test_an_evaluation_file_linked_to_another_runs_is_refused_and_not_written_through(mnist_dir, run_copy, tmp_path):
    from zoo import pipeline

    run_dir, first = run_copy
    other = tmp_path / "other.json"
    stored = json.loads((run_dir / "evaluation.json").read_text())
    stored["settings"]["latent_dim"] = 5
    other.write_text(json.dumps(stored))
    (run_dir / "evaluation.json").unlink()
    (run_dir / "evaluation.json").symlink_to(other)
    with pytest.raises(ZooError, match="evaluation.json is a symbolic link inside the run dir") as error:
        pipeline.publish(small_vae_config(mnist_dir, run_dir))  # refused before anything is read through the link
    assert "\n" not in str(error.value)
    assert json.loads(other.read_text()) == stored  # the link's target is left alone


def test_the_same_run_reuses_its_evaluation(mnist_dir, run_copy):
    from zoo import pipeline

    run_dir, first = run_copy
    measured, out = printed_by(pipeline.publish, small_vae_config(mnist_dir, run_dir))
    assert "reusing the evaluation" in out and measured == first


# The shared store (zoo.files.ResultStore) and the schemas its callers state.

@pytest.mark.parametrize("value, why", [(0.5, None), (1, None), (-0.1, "outside [0, 1]"), (float("nan"), "not finite"),
                                        ("0.5", "is not a number"), (True, "is not a number"), (None, "not a number")])
def test_a_store_reuses_only_the_values_its_caller_calls_good(tmp_path, capsys, value, why):
    files.ResultStore(tmp_path / "r.json", {"k": 1}, "data").put("a", value)
    store = files.ResultStore(tmp_path / "r.json", {"k": 1}, "data", validate=files.Number(0, 1))
    assert ("a" in store) == (why is None)
    assert why is None or why in files.fault(value, files.Number(0, 1))
    if why:
        assert f"the result 'a' is damaged ({value!r} " in capsys.readouterr().out


@pytest.mark.parametrize("target", ["/dev/zero", "directory", "fifo", "huge", "nested"])
def test_a_results_file_that_is_no_regular_file_or_too_large_is_never_read_whole(tmp_path, capsys, target):
    import os

    path = tmp_path / "r.json"
    if target == "directory":
        path.mkdir()
    elif target == "fifo":
        os.mkfifo(path)  # opening it for reading would wait for a writer forever
    elif target == "nested":
        path.write_text("[" * 100_000 + "]" * 100_000)
    elif target == "huge":
        with open(path, "wb") as handle:
            handle.truncate(files.MAX_JSON_BYTES + 1)
    else:
        path.symlink_to(target)
    store = files.ResultStore(path, {"k": 1}, "data")
    assert store.results == {} and "not a results file of this zoo" in capsys.readouterr().out
    store.put("a", 1)
    assert json.loads(path.read_text())["results"] == {"a": 1} and not path.is_symlink()


def test_schemas_name_the_first_fault():
    schema = files.Record({"xla": bool, "precision": {"float32"}, "rates": files.MapOf(files.Number(0))},
                          optional=("rates",))
    assert files.fault({"xla": False, "precision": "float32"}, schema) is None
    assert files.fault({"xla": 1, "precision": "float32"}, schema) == "xla: 1 is not bool"
    assert files.fault({"xla": True, "precision": "f"}, schema) == "precision: 'f' is not one of ['float32']"
    assert files.fault({"xla": True, "precision": "float32", "rates": {"a": "x"}}, schema) == "rates: a: 'x' is not a number"
    assert files.fault({"xla": True}, schema) == "precision is missing"
    assert files.fault({"xla": True, "precision": "float32", "more": 1}, schema) == "'more' is not a field of it"
    assert files.fault([1, 2, 3], files.ListOf(files.Number(integer=True), most=2)) == "a list of 3 values (from 0 to 2)"
    assert files.fault(10 ** 400, files.Number(0, 1e308)) is not None


# A run dir's checkpoint (zoo.training.EpochCheckpoint): nothing to recompute, so a fault is refused in one line.

GOOD_STATE = {"epochs_done": 2, "weights_file": "epoch-0002.keras", "train_seconds": 3.0, "epoch_seconds": [2.0, 1.0],
              "steady_epoch_seconds": [1.0], "history": [{"epoch": 1, "loss": 3.5}, {"epoch": 2, "loss": -1.0}],
              "run_config": {}, "speed_settings": {"xla": False, "precision": "float32", "how": "flags"}}


@pytest.mark.parametrize("field, value", [
    ("epoch_seconds", ["x", 1.0]), ("epoch_seconds", [1e308, 1.0]), ("epoch_seconds", [-1.0, 1.0]),
    ("epoch_seconds", [0, 0]), ("epoch_seconds", [1.0]), ("epoch_seconds", [None, 1.0]),
    ("steady_epoch_seconds", [float("inf")]), ("steady_epoch_seconds", [1.0, 1.0, 1.0]),
    ("steady_epoch_seconds", [[1.0]]), ("history", ["x", {"epoch": 2}]), ("history", [{"epoch": 1}, {"epoch": "2"}]),
    ("history", [{"epoch": 1, "loss": "nan"}, {"epoch": 2}]), ("history", [{"epoch": 2}, {"epoch": 1}]),
    ("history", [{"loss": 1.0}, {"epoch": 2}]), ("train_seconds", 1e308), ("epochs_done", True),
    ("epochs_done", 10 ** 400),
    ("speed_settings", "fast"), ("speed_settings", {"xla": "no", "precision": "float32", "how": "flags"}),
    ("speed_settings", {"xla": False, "precision": "float64", "how": "flags"})])
def test_checkpoint_lists_and_records_of_the_wrong_type_or_range_are_refused_in_one_line(tmp_path, field, value):
    from zoo import training

    (tmp_path / "checkpoint.json").write_text(json.dumps({**GOOD_STATE, field: value}))
    with pytest.raises(ZooError, match=f"checkpoint.json: {field} must be") as error:
        training.EpochCheckpoint.read_state(tmp_path)
    assert "\n" not in str(error.value) and "start afresh" in str(error.value)


def test_a_good_checkpoint_state_is_read(tmp_path):
    from zoo import training

    (tmp_path / "checkpoint.json").write_text(json.dumps(GOOD_STATE))
    assert training.EpochCheckpoint.read_state(tmp_path) == GOOD_STATE


@pytest.fixture(scope="module")
def trained_run(mnist_dir, tmp_path_factory):
    from zoo import training

    run_dir = tmp_path_factory.mktemp("trained") / "run"
    training.train(small_vae_config(mnist_dir, run_dir), verbose=0)
    return run_dir


@pytest.mark.parametrize("damage", ["missing", "truncated", "empty", "directory", "not a zip"])
def test_a_missing_or_damaged_checkpoint_weights_file_is_named_in_one_line(mnist_dir, trained_run, tmp_path, damage):
    from zoo import training

    run_dir = tmp_path / "run"
    shutil.copytree(trained_run, run_dir)
    weights = run_dir / "epoch-0001.keras"
    content = weights.read_bytes()
    weights.unlink()
    if damage == "truncated":
        weights.write_bytes(content[: len(content) // 2])
    elif damage == "empty":
        weights.write_bytes(b"")
    elif damage == "directory":
        weights.mkdir()
    elif damage == "not a zip":
        weights.write_bytes(b"PK\x03\x04" + b"x" * 1000)
    with pytest.raises(ZooError, match=r"epoch-0001.keras: (the weights of epoch 1 .* are missing|cannot be loaded "
                                       r"as the weights of epoch 1)") as error:
        training.train(small_vae_config(mnist_dir, run_dir), verbose=0)
    assert "\n" not in str(error.value) and "to start afresh" in str(error.value)


# The speed settings cache (zoo.speed): keyed by machine, versions, model, batch size and replicas; each entry checked.

@pytest.fixture
def speed_cache(monkeypatch, tmp_path):
    """Measurement on, with a cache of this test's own and a measurement that counts its calls instead of timing."""
    from zoo import speed

    monkeypatch.delenv(speed.AUTO_ENV, raising=False)
    monkeypatch.setenv(speed.CACHE_ENV, str(tmp_path / "speed.json"))
    calls = []

    def measure(build, batches, options):
        calls.append(options)
        return {option: 1000.0 + 500 * option[0] for option in options}  # XLA on the faster

    monkeypatch.setattr(speed, "measure", measure)
    return tmp_path / "speed.json", calls


def choose_auto(replicas=1, batch_size=100, model=None):
    from zoo import speed

    return speed.choose("auto", "auto", has_gpu=False, replicas=replicas, model_config=model or {"model": "vae"},
                        batch_size=batch_size, build=None, batches=None)


@pytest.mark.parametrize("planted", [
    "fast", None, [1], {"xla": True, "precision": "float64", "cpu": "c", "images_per_s": {}},
    {"xla": True, "precision": "float32", "cpu": "c", "images_per_s": "x"},
    {"xla": True, "precision": "float32", "cpu": "c", "images_per_s": {"xla=off,float32": "x", "xla=on,float32": 1}},
    {"xla": "yes", "precision": "float32", "cpu": "c", "images_per_s": {"xla=off,float32": 1, "xla=on,float32": 2}},
    {"xla": True, "precision": "float32", "cpu": "c", "images_per_s": {"xla=off,float32": 1}},
    {"xla": True, "precision": "float32", "cpu": "c",
     "images_per_s": {"xla=off,float32": 1000, "xla=on,float32": float("nan")}},
    {"xla": True, "precision": "float32", "cpu": "c", "images_per_s": {"xla=off,float32": 1000, "xla=on,float32": 10}},
    {"xla": True, "precision": "float32", "cpu": "another CPU",
     "images_per_s": {"xla=off,float32": 1000, "xla=on,float32": 1500}},
])
def test_a_damaged_speed_cache_entry_is_measured_again_with_a_line(speed_cache, capsys, planted):
    path, calls = speed_cache
    first = choose_auto()
    assert first["how"] == "measured now" and len(calls) == 1
    (key,) = json.loads(path.read_text())
    if isinstance(planted, dict) and planted["cpu"] == "c":  # each entry damaged in one way only
        planted = {**planted, "cpu": first["cpu"]}
    path.write_text(json.dumps({key: planted, "other": "left alone"}))
    again = choose_auto()
    assert again["how"] == "measured now" and len(calls) == 2
    assert "for this model are damaged" in capsys.readouterr().out, planted
    assert json.loads(path.read_text()) == {key: {k: v for k, v in first.items() if k != "how"}, "other": "left alone"}
    assert choose_auto()["how"].startswith("measured before") and len(calls) == 2


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", "\"x\"", ""])
def test_a_speed_cache_that_cannot_be_read_is_written_afresh_with_a_line(speed_cache, capsys, content):
    path, calls = speed_cache
    path.write_text(content)
    assert choose_auto()["how"] == "measured now"
    assert "cannot be read" in capsys.readouterr().out
    assert choose_auto()["how"].startswith("measured before") and len(calls) == 1


def test_the_speed_cache_is_keyed_by_replicas_batch_size_model_and_versions(speed_cache, monkeypatch):
    from zoo import speed

    path, calls = speed_cache
    choose_auto()
    choose_auto(batch_size=200)
    choose_auto(model={"model": "vae", "latent_dim": 3})
    choose_auto(replicas=2)  # XLA stays off with several replicas: one option, nothing measured
    monkeypatch.setattr(speed.keras, "__version__", "0.0.1")
    choose_auto()
    monkeypatch.setattr(speed.os, "sched_getaffinity", lambda pid: {0})
    choose_auto()
    assert len(calls) == 5 and len(json.loads(path.read_text())) == 5


def test_a_speed_cache_linked_to_a_device_is_not_read_and_the_link_replaced(speed_cache, capsys):
    path, calls = speed_cache
    path.symlink_to("/dev/zero")
    assert choose_auto()["how"] == "measured now" and "not a regular file" in capsys.readouterr().out
    assert not path.is_symlink() and len(json.loads(path.read_text())) == 1


# The pretrained stack (zoo.pretraining.stored_stack, recipes.pretrain_mnist): keyed by every argument that makes it.

@pytest.fixture(scope="module")
def stack_images(mnist_dir):
    from zoo import data

    return data.mnist_grayscale(mnist_dir)["train"][0][:300]


def stored_stack(directory, images, **changes):
    from zoo import pretraining

    arguments = dict(hidden_units=(8,), noise_level=0.25, epochs=1, batch_size=100, learning_rate=1e-3)
    return printed_by(pretraining.stored_stack, directory, images, **{**arguments, **changes})


@pytest.mark.parametrize("change", [{"noise_level": 0.5}, {"epochs": 2}, {"learning_rate": 2e-3}, {"batch_size": 50},
                                    {"hidden_units": (9,)}, {"seed": 1}, {"images": "fewer"}, {"images": "other"}])
def test_a_pretrained_stack_is_reused_only_with_the_settings_and_images_it_was_made_with(tmp_path, stack_images,
                                                                                         change):
    stack, out = stored_stack(tmp_path, stack_images)
    assert "reusing" not in out
    again, out = stored_stack(tmp_path, stack_images)
    assert "reusing the pretrained stack" in out
    images = {"fewer": stack_images[:200], "other": 1 - stack_images}.get(change.pop("images", None), stack_images)
    changed, out = stored_stack(tmp_path, images, **change)
    assert "reusing" not in out and "pretrained layer 1" in out
    if "noise_level" in change:
        assert changed[0].noise_level == 0.5


@pytest.mark.parametrize("damage", ["truncated layer", "missing layer", "other settings in stack.json",
                                    "stack.json not json", "a layer of other weights' shape"])
def test_a_damaged_pretrained_stack_is_pretrained_again_with_a_line(tmp_path, stack_images, damage):
    stored_stack(tmp_path, stack_images)
    (where,) = [path.parent for path in tmp_path.glob("*/stack.json")]
    layer = where / "layer1.keras"
    if damage == "truncated layer":
        layer.write_bytes(layer.read_bytes()[:1000])
    elif damage == "missing layer":
        layer.unlink()
    elif damage == "other settings in stack.json":
        saved = json.loads((where / "stack.json").read_text())
        (where / "stack.json").write_text(json.dumps({"settings": {**saved["settings"], "noise_level": 0.9}}))
    elif damage == "stack.json not json":
        (where / "stack.json").write_text("[")
    else:
        stored_stack(tmp_path / "other", stack_images, hidden_units=(9,))
        shutil.copy(next((tmp_path / "other").glob("*/layer1.keras")), layer)
    stack, out = stored_stack(tmp_path, stack_images)
    assert "is not reused" in out and "pretraining again" in out and stack[0].latent_dim == 8
    assert "reusing the pretrained stack" in stored_stack(tmp_path, stack_images)[1]


def test_the_pretraining_recipe_pretrains_again_after_noise_level_changes(mnist_dir, tmp_path):
    from recipes import pretrain_mnist

    argv = ["--data-dir", mnist_dir, "--methods", "pretrained", "--hidden-units", "8", "--pretrain-epochs", "1",
            "--budgets", "100", "--seeds", "1", "--finetune-steps", "10", "--out-dir", str(tmp_path)]
    printed_by(pretrain_mnist.main, argv)
    (tmp_path / "results.json").unlink()  # the results of the first noise level: the store would refuse the second
    _, out = printed_by(pretrain_mnist.main, [*argv, "--noise-level", "0.5"])
    assert "reusing the pretrained stack" not in out and "pretrained layer 1" in out
    assert len(list((tmp_path / "stack").glob("*/stack.json"))) == 2


# A search's files (tuning): search.json is what the directory holds, so it is refused; a trial's result.json is
# left out of the table; Keras Tuner's own state is refused in one line.

TINY_SEARCH = ["--model", "vae", "--space", "latent_dim", "--epochs", "1", "--train-limit", "200", "--validation-size",
               "100", "--final-epochs", "0", "--max-trials", "1"]


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", "\"vae\"", "", "/dev/zero"])
def test_a_search_record_that_cannot_be_read_is_refused_in_one_line(mnist_dir, tmp_path, capsys, content):
    from tuning import search

    from zoo import files

    out = files.owned_dir(tmp_path / "search", search.SEARCH_DIR)  # a search dir the zoo made, then damaged
    if content.startswith("/"):
        (out / "search.json").symlink_to(content)
        expected = "search.json is a symbolic link inside the search dir"  # refused before it is read
    else:
        (out / "search.json").write_text(content)
        expected = "search.json: cannot be read as the record of a search"
    with pytest.raises((ZooError, SystemExit), match=None) as error:
        search.main([*TINY_SEARCH, "--data-dir", mnist_dir, "--out", str(out)])
    message = str(error.value) if error.type is ZooError else capsys.readouterr().err.strip()
    assert "\n" not in message and expected in message, message


GOOD_RESULT = {"trial": "0", "tuner": "tuner0", "hyperparameters": {"latent_dim": 4}, "epochs": 2,
               "continued_from": None, "seconds": 3.5, "metrics": {"val_loss": 150.0}}


@pytest.mark.parametrize("planted", ["{not json", [1], {**GOOD_RESULT, "seconds": "x"}, {**GOOD_RESULT, "seconds": -1},
                                     {**GOOD_RESULT, "epochs": 1e308}, {**GOOD_RESULT, "trial": "7"},
                                     {**GOOD_RESULT, "metrics": {"val_loss": "nan"}}, {"trial": "0"}])
def test_a_damaged_trial_result_is_left_out_of_the_table_with_a_line(tmp_path, capsys, planted):
    from tuning import report

    path = tmp_path / "result.json"
    path.write_text(planted if isinstance(planted, str) else json.dumps(planted))
    assert report.trial_result(path, "0") == {}
    assert "not the result of trial 0" in capsys.readouterr().out
    path.write_text(json.dumps(GOOD_RESULT))
    assert report.trial_result(path, "0") == GOOD_RESULT


@pytest.mark.parametrize("damage", ["oracle.json", "tuner0.json"])
def test_keras_tuners_damaged_state_is_refused_in_one_line(tmp_path, damage):
    from tuning import search, tuner

    settings = search.SearchConfig(out=str(tmp_path / "search"), epochs=1, max_trials=1)
    tuner.build_tuner(settings).save()
    (damaged,) = (tmp_path / "search" / "oracle").glob(damage)
    damaged.write_text("{")
    with pytest.raises(ZooError, match="Keras Tuner's saved state of the search cannot be reloaded") as error:
        tuner.run_search(settings)
    assert "\n" not in str(error.value)


# A GAN run's Fréchet curve (zoo.pipeline.FrechetCheckpoint, best_by_frechet): the run's, or not used.

@pytest.fixture
def frechet_run(tmp_path):
    """A run dir with a checkpoint of 2 epochs, a Fréchet curve measured under its settings and the best weights;
    and (config, checkpoint) as publish passes them."""
    import types

    from tests.conftest import ROOT
    from zoo import pipeline

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    state = {**GOOD_STATE, "run_config": {"latent_dim": 8, "epochs": 2, "seed": 0, "data": "d"}}
    (run_dir / "checkpoint.json").write_text(json.dumps(state))
    config = types.SimpleNamespace(run_dir=str(run_dir), frechet_classifier=str(ROOT / "saved_models" / "mnist_classifier"),
                                   frechet_samples=500)
    settings = pipeline.frechet_settings(state["run_config"], config.frechet_classifier, 500)
    curve = [{"epoch": 1, "minutes": 0.5, "frechet_distance": 30.0, "best": True},
             {"epoch": 2, "minutes": 1.0, "frechet_distance": 20.0, "best": True}]
    (run_dir / "frechet.json").write_text(json.dumps({"settings": settings, "curve": curve}))
    (run_dir / "best.weights.h5").write_bytes(b"weights")
    return run_dir, config, types.SimpleNamespace(state=state)


def test_the_best_checkpoint_of_the_runs_own_curve_is_chosen(frechet_run):
    from zoo import pipeline

    _, config, checkpoint = frechet_run
    assert pipeline.best_by_frechet(config, checkpoint) == (2, 20.0)


def damage_curve(run_dir, damage):
    path = run_dir / "frechet.json"
    saved = json.loads(path.read_text())
    curve = saved["curve"]
    if damage == "other run":
        saved["settings"]["latent_dim"] = 4
    elif damage == "other samples":
        saved["settings"]["frechet_samples"] = 5000
    elif damage == "old format":
        saved = curve
    elif damage == "distance not a number":
        curve[1]["frechet_distance"] = "x"
    elif damage == "negative distance":
        curve[1]["frechet_distance"] = -5.0
    elif damage == "beyond the checkpoint":
        curve.append({"epoch": 3, "minutes": 2.0, "frechet_distance": 1.0, "best": True})
    elif damage == "best weights missing":
        (run_dir / "best.weights.h5").unlink()
    elif damage == "best unmarked":
        del curve[1]["best"]
    path.write_text(json.dumps(saved))


CURVE_DAMAGES = ["other run", "other samples", "old format", "distance not a number", "negative distance",
                 "beyond the checkpoint", "best weights missing", "best unmarked"]


@pytest.mark.parametrize("damage", CURVE_DAMAGES)
def test_a_curve_that_is_not_the_runs_is_refused_in_one_line_when_publishing(frechet_run, damage):
    from zoo import pipeline

    run_dir, config, checkpoint = frechet_run
    damage_curve(run_dir, damage)
    with pytest.raises(ZooError, match="frechet.json: .*the best checkpoint by Fréchet distance cannot be chosen") as error:
        pipeline.best_by_frechet(config, checkpoint)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("damage", ["other run", "distance not a number", "beyond the checkpoint", "fresh run"])
def test_a_resumed_run_does_not_continue_a_curve_that_is_not_its_own(frechet_run, damage, capsys):
    import numpy as np

    from zoo import pipeline

    run_dir, config, _ = frechet_run
    if damage == "fresh run":
        (run_dir / "checkpoint.json").unlink()
    else:
        damage_curve(run_dir, damage)
    callback = pipeline.FrechetCheckpoint(run_dir, config.frechet_classifier, np.zeros((20, 28, 28, 1), np.float32),
                                          every=1, epochs=4, samples=500)
    callback.on_train_begin()
    assert callback.curve == [] and "not continued" in capsys.readouterr().out
    assert not (run_dir / "frechet.json").exists() and not (run_dir / "best.weights.h5").exists()


# The GAN ablation's earlier rows (benchmarks.gan_ablation): kept only for the same data and the same recipe flags.

@pytest.mark.parametrize("change", ["frechet_every", "variant flags", "data", "distance", "not a row", "rows"])
def test_gan_ablation_rows_of_other_flags_or_data_or_damaged_are_not_kept(change, capsys):
    import dataclasses

    from benchmarks import gan_ablation
    from tests.test_generation import ablation_row

    settings = gan_ablation.GANAblationConfig(epochs=8)
    row = ablation_row(dataclasses.replace(settings, frechet_every=4) if change == "frechet_every" else settings,
                       "hinge", 187.1)
    earlier = {"cpu": "AMD EPYC", "epochs": 8, "data": "other" if change == "data" else "d", "rows": [row]}
    if change == "variant flags":
        row["command"] = row["command"].replace("--hinge", "--hinge --spectral-norm")
    elif change == "distance":
        row["best_distance"] = "x"
    elif change == "not a row":
        earlier["rows"] = ["hinge"]
    elif change == "rows":
        earlier["rows"] = "hinge"
    assert gan_ablation.merged_rows(earlier, {}, settings, "d") == []
    assert change == "rows" or "is not kept" in capsys.readouterr().out
    row = ablation_row(settings, "hinge", 187.1)
    assert gan_ablation.merged_rows({**earlier, "data": "d", "rows": [row]}, {}, settings, "d") == [
        {"cpu": "AMD EPYC", **row}]


# The one-class scores a finished detector reuses (recipes.anomaly_mnist, <run dir>/anomaly.json).

def test_stored_anomaly_scores_are_reused_only_whole_and_in_range():
    from recipes.anomaly_mnist import stored_scores_schema

    names = ("reconstruction",)
    measures = {"auroc": 0.9, "complexity_correlation": -0.2, "threshold": 12.0, "held_out_normal_images": 500,
                "precision": 0.8, "recall": 0.7, "false_positive_rate": 0.05}
    good = {"results": {"reconstruction": measures, "chosen": "reconstruction"},
            "test_scores": {"reconstruction": [1.0, 2.0, 3.0]}}
    schema = stored_scores_schema(names, 3)
    assert files.fault(good, schema) is None
    damaged = [{**good, "test_scores": {"reconstruction": [1.0, 2.0]}},
               {**good, "test_scores": {"reconstruction": [1.0, "x", 3.0]}},
               {**good, "test_scores": {}},
               {**good, "results": {"reconstruction": {**measures, "auroc": 1.5}, "chosen": "reconstruction"}},
               {**good, "results": {"reconstruction": measures, "chosen": "neg_elbo"}},
               {**good, "results": {"chosen": "reconstruction"}}, {"results": good["results"]}, "garbage"]
    assert all(files.fault(entry, schema) for entry in damaged)


def test_keras_tuners_state_files_are_written_atomically(tmp_path, monkeypatch):
    """A search killed while Keras Tuner saved a trial left an empty trial.json that no rerun could reload (seen in
    tests/test_tuning.py's interrupted search): every state file Keras Tuner writes goes through a rename now."""
    import keras_tuner as kt

    from tuning import tuner  # routes Keras Tuner's saves

    written = []
    monkeypatch.setattr(tuner, "atomic_write_text", lambda path, text: (written.append(path),
                                                                         files.atomic_write_text(path, text)))
    trial = kt.engine.trial.Trial(kt.HyperParameters(), trial_id="0")
    trial.save(str(tmp_path / "trial.json"))
    assert written == [str(tmp_path / "trial.json")]
    assert kt.engine.trial.Trial.load(str(tmp_path / "trial.json")).trial_id == "0"
