"""Greedy layer-wise pretraining with stacked denoising autoencoders, and the recipe."""

import json

import numpy as np
import pytest

import zoo
from zoo import pretraining
from tests.conftest import ROOT
from zoo.batching import apply_in_batches


@pytest.fixture(scope="module")
def small_stack(mnist_dir):
    from zoo import data

    images = data.mnist_grayscale(mnist_dir)["train"][0][:2000]
    return pretraining.pretrain_stack(images, (64, 32), epochs=2, seed=0), images


def test_each_layer_reconstructs_the_code_below(small_stack):
    (first, second), images = small_stack
    assert first.image_shape == (784,) and second.image_shape == (64,)
    codes = apply_in_batches(first.encode, images.reshape(len(images), -1))
    assert codes.shape == (2000, 64) and 0 < codes.min() and codes.max() < 1  # sigmoid codes
    assert second.corruption == "masking" and second.noise_level == 0.25


def test_pretraining_hands_its_weights_to_the_classifier(small_stack):
    stack, images = small_stack
    classifier = pretraining.classifier_from_stack(stack, 10, seed=3, dropout=0.5, input_dropout=0.2)
    assert sum(type(layer).__name__ == "Dropout" for layer in classifier.feature_net.layers) == 2  # input, between
    for hidden, layer in zip(classifier.hidden_layers(), stack):
        (dense,) = [sub for sub in layer.encoder.layers if hasattr(sub, "kernel")]
        for got, expected in zip(hidden.get_weights(), dense.get_weights()):
            np.testing.assert_array_equal(got, expected)
    codes = apply_in_batches(stack[1].encode, apply_in_batches(stack[0].encode, images[:50].reshape(50, -1)))
    np.testing.assert_allclose(classifier.features(images[:50]).numpy(), codes, rtol=1e-5, atol=1e-6)  # no dropout
    trained = classifier.feature_net(images[:50], training=True).numpy()
    assert not np.allclose(trained, codes, atol=1e-3)  # dropout in training
    fresh = zoo.get("mlp_classifier", hidden_units=(64, 32), seed=3)
    assert not np.allclose(fresh.hidden_layers()[0].get_weights()[0], classifier.hidden_layers()[0].get_weights()[0])


def test_labelled_subsets_are_balanced_and_seeded():
    labels = np.repeat(np.arange(10), 100)
    subset = pretraining.labelled_subset(labels, 105, seed=1)
    counts = np.bincount(labels[subset], minlength=10)
    assert len(subset) == 105 and counts.min() == 10 and counts.max() == 11
    assert np.array_equal(subset, pretraining.labelled_subset(labels, 105, seed=1))
    assert not np.array_equal(subset, pretraining.labelled_subset(labels, 105, seed=2))


def test_pretrain_recipe_runs_and_resumes(mnist_dir, tmp_path):
    from recipes import pretrain_mnist

    argv = ["--data-dir", mnist_dir, "--hidden-units", "32", "--pretrain-epochs", "1", "--budgets", "100", "120",
            "--seeds", "2", "--finetune-steps", "200", "--finetune-dropout", "0", "--finetune-input-dropout", "0",
            "--m2-epochs", "1", "--out-dir", str(tmp_path),
            "--feature-vae", str(ROOT / "saved_models" / "vae_mnist")]
    pretrain_mnist.main(argv)
    runs = json.loads((tmp_path / "results.json").read_text())["results"]
    assert set(runs) == ({f"100/{seed}/{method}" for seed in (0, 1) for method in pretrain_mnist.DEFAULT_METHODS}
                         | {f"120/{seed}/{method}" for seed in (0, 1) for method in ("random", "pretrained")})
    assert all(0.3 < accuracy <= 1 for accuracy in runs.values()), runs
    (stack,) = (tmp_path / "stack").glob("*/layer1.keras")  # one stack, under the data's fingerprint
    stamp = stack.stat().st_mtime
    pretrain_mnist.main(argv)  # everything is reused
    assert stack.stat().st_mtime == stamp
    assert json.loads((tmp_path / "results.json").read_text())["results"] == runs
    stack.unlink()
    pretrain_mnist.main(argv)  # every run is done: nothing is pretrained again
    assert not stack.exists()
    table = (tmp_path / "results.md").read_text()
    assert "| 100 | 2 |" in table and table.count(" - |") == 2  # the VAE methods run on --vae-budgets (100) only


def test_validation_size_holds_the_last_training_images_out_of_everything(mnist_dir, tmp_path):
    from recipes import pretrain_mnist
    from zoo import data, flags, sources

    settings = flags.parse(pretrain_mnist.PretrainMnistConfig,
                           ["--data-dir", mnist_dir, "--validation-size", "10000", "--out-dir", str(tmp_path)])
    experiment = pretrain_mnist.Experiment(settings, sources.load_flags(settings))
    train_images, train_labels = data.mnist_grayscale(mnist_dir)["train"]
    assert len(experiment.images) == 50_000 and len(experiment.test_images) == 10_000
    np.testing.assert_array_equal(experiment.test_images, train_images[50_000:])  # scored in place of the test set
    np.testing.assert_array_equal(experiment.test_labels, train_labels[50_000:])
    np.testing.assert_array_equal(experiment.images, train_images[:50_000])
    assert len(pretraining.labelled_subset(experiment.labels, pretrain_mnist.ALL_LABELS, 0)) == 50_000


def test_the_ladder_method_trains_on_few_labels_and_its_result_is_keyed_by_its_flags(tmp_path):
    from recipes import pretrain_mnist

    argv = ["--data", "sklearn:digits", "--methods", "ladder", "--budgets", "50", "--seeds", "1", "--ladder-epochs",
            "3", "--out-dir", str(tmp_path)]
    pretrain_mnist.main(argv)
    runs = json.loads((tmp_path / "results.json").read_text())["results"]
    (key,) = runs
    assert key.startswith("50/0/ladder ") and "ladder_epochs=3" in key and "ladder_noise_std=0.3" in key
    assert runs[key] > 0.3, runs  # 50 labels of 8x8 digits, 3 epochs: far above chance (0.1)
    assert not any((tmp_path / "ladder").rglob("*.h5"))  # the epoch backups are gone once the run is done
    (log,) = (tmp_path / "ladder").glob("50-0-*.csv")  # the run's files are named by its settings
    assert log.name == "50-0-3-0.002-0.67-0.3.csv"
    import csv

    rows = list(csv.DictReader(log.read_text().splitlines()))
    assert [row["epoch"] for row in rows] == ["0", "1", "2"] and all(float(row["denoise_6"]) > 0 for row in rows)
    assert {row["val_accuracy"] for row in rows} == {"NA"}  # no held-out images: no held-out error
    assert (tmp_path / "ladder" / "50-0-3-0.002-0.67-0.3.png").stat().st_size > 10_000
    pretrain_mnist.main([*argv, "--ladder-noise-std", "0.2"])  # another question: a new run, the first one kept
    assert len(json.loads((tmp_path / "results.json").read_text())["results"]) == 2
    assert len(list((tmp_path / "ladder").glob("50-0-*.csv"))) == 2
    assert pretrain_mnist.ladder_learning_rate(pretrain_mnist.PretrainMnistConfig(), 0) == 0.002
    schedule = [pretrain_mnist.ladder_learning_rate(pretrain_mnist.PretrainMnistConfig(), epoch) for epoch in range(150)]
    assert schedule[99] == 0.002 and schedule[149] < schedule[120] < 0.002 and schedule[149] > 0


def test_the_ladders_held_out_error_is_logged_per_epoch_and_drawn(tmp_path):
    import matplotlib.image

    from recipes import pretrain_mnist

    pretrain_mnist.main(["--data", "sklearn:digits", "--methods", "ladder", "--budgets", "50", "--seeds", "1",
                         "--ladder-epochs", "2", "--validation-size", "300", "--out-dir", str(tmp_path)])
    (log,) = (tmp_path / "ladder").glob("50-0-*.csv")
    import csv

    rows = list(csv.DictReader(log.read_text().splitlines()))
    assert len(rows) == 2 and all(0 < float(row["val_accuracy"]) <= 1 for row in rows)
    drawn = matplotlib.image.imread(log.parent / log.name.replace(".csv", ".png"))
    assert drawn.shape[1] > 800 and drawn[..., :3].std() > 0.05  # two panels with curves, not a blank page
