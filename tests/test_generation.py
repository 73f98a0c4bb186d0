"""Generation: the GAN's two players, conditional sampling, the mixture sampler, the Fréchet distance, slerp."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.conftest import ROOT, run_python
from zoo import metrics, plots


@pytest.fixture(scope="module")
def real_batch():
    rng = np.random.default_rng(0)
    images = np.zeros((32, 28, 28, 1), np.float32)
    images[:, 6:22, 12:16] = rng.uniform(0.7, 1.0, (32, 16, 4, 1))  # vertical strokes, a "1"
    return tf.constant(images)


def step_with_frozen_player(frozen, images):
    """Losses on the same codes before and after one train_step in which `frozen` has learning rate 0."""
    keras.utils.set_random_seed(1)  # initial weights independent of the tests that ran before
    model = zoo.get("gan", latent_dim=8, filters=8, seed=1)
    rates = {"d": 0.0 if frozen == "d" else 1e-2, "g": 0.0 if frozen == "g" else 1e-2}
    model.compile(d_optimizer=keras.optimizers.SGD(rates["d"]), g_optimizer=keras.optimizers.SGD(rates["g"]))
    state = model.seed_generator.state.numpy().copy()
    before = {k: float(v) for k, v in model.losses_of(images, training=True).items()}
    model.seed_generator.state.assign(state)  # the step draws the same codes as the measurement
    weights = {"d": [w.numpy().copy() for w in model.discriminator.trainable_weights],
               "g": [w.numpy().copy() for w in model.generator.trainable_weights]}
    model.train_step(images)
    model.seed_generator.state.assign(state)
    after = {k: float(v) for k, v in model.losses_of(images, training=True).items()}
    moved = {player: any(not np.array_equal(w, v.numpy()) for w, v in
                         zip(weights[player], (model.discriminator if player == "d" else model.generator)
                             .trainable_weights)) for player in ("d", "g")}
    return before, after, moved


def test_gan_discriminator_step_ascends_the_cost(real_batch):
    before, after, moved = step_with_frozen_player("g", real_batch)
    assert moved == {"d": True, "g": False}
    assert after["value"] > before["value"]  # C(D, G) = mean log D(x) + mean log(1 - D(G(z))) went up
    assert after["d_real"] > before["d_real"] and after["d_fake"] < before["d_fake"]


def test_gan_generator_step_fools_the_discriminator_more(real_batch):
    before, after, moved = step_with_frozen_player("d", real_batch)
    assert moved == {"d": False, "g": True}
    assert after["g_loss"] < before["g_loss"]  # -log D(G(z)) went down
    assert after["d_fake"] > before["d_fake"]


def test_minimax_generator_loss_is_log_one_minus_d(real_batch):
    model = zoo.get("gan", latent_dim=8, filters=8, non_saturating=False, seed=2)
    state = model.seed_generator.state.numpy().copy()
    loss = float(model.generator_loss(16, training=False))
    model.seed_generator.state.assign(state)
    codes = model.batch_noise(tf.random.stateless_normal, [16, 8])
    d_fake = tf.sigmoid(model.discriminator(model.generate(codes))[:, 0])
    np.testing.assert_allclose(loss, np.mean(np.log(1 - d_fake.numpy())), rtol=1e-4)


def test_gan_failure_is_reported_and_keeps_the_last_checkpoint(tmp_path):
    from zoo import training

    model = zoo.get("gan", latent_dim=8, filters=8)
    assert model.failure({"d_real": 0.9, "d_fake": 0.2}) is None
    message = model.failure({"d_real": 0.995, "d_fake": 0.004})
    assert "discriminator won outright" in message and "0.995" in message
    checkpoint = training.EpochCheckpoint(tmp_path, 100, {"model": "gan"})
    checkpoint.set_model(model)
    checkpoint.on_train_begin()
    checkpoint.on_epoch_begin(0)
    checkpoint.on_epoch_end(0, {"d_real": 0.995, "d_fake": 0.004, "d_loss": 0.01, "g_loss": 6.0, "value": -0.01})
    assert checkpoint.diverged_at == 1 and checkpoint.failure == message and model.stop_training
    assert not (tmp_path / "checkpoint.json").exists() and not list(tmp_path.glob("*.keras"))


def test_conditional_sampling_is_deterministic_by_seed_and_uses_the_digit():
    model = zoo.get("cvae", latent_dim=4, hidden_units=(16,), seed=1)
    seed = tf.constant([5, 0], tf.int64)
    first, again = model.sample(6, seed, 3).numpy(), model.sample(6, seed, 3).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, model.sample(6, seed, 7).numpy())
    assert not np.allclose(first, model.sample(6, tf.constant([6, 0], tf.int64), 3).numpy())


CONDITIONAL_ARTIFACT = """
import sys
import numpy as np
import tensorflow as tf
cvae = tf.saved_model.load(sys.argv[1])
classifier = tf.saved_model.load(sys.argv[2])  # keep the object: its functions use its variables
classify = classifier.classify
hits = []
for digit in range(10):
    images = cvae.sample(tf.constant(50), tf.constant(11), tf.constant(digit))["images"]
    again = cvae.sample(tf.constant(50), tf.constant(11), tf.constant(digit))["images"]
    np.testing.assert_array_equal(images.numpy(), again.numpy())
    hits.append(float(np.mean(np.argmax(classify(images)["probs"].numpy(), 1) == digit)))
print(min(hits), float(np.mean(hits)))
"""


def test_conditional_artifact_draws_the_digit_asked_for(tmp_path):
    script = tmp_path / "conditional.py"
    script.write_text(CONDITIONAL_ARTIFACT)
    result = run_python([str(script), str(ROOT / "saved_models" / "cvae_mnist"),
                         str(ROOT / "saved_models" / "mnist_classifier")])
    assert result.returncode == 0, result.stderr[-3000:]
    worst, mean = map(float, result.stdout.split())
    assert mean > 0.9 and worst > 0.7, (worst, mean)


MIXTURE_SAMPLE = """
import sys
import numpy as np
import tensorflow as tf
artifact = tf.saved_model.load(sys.argv[1])
np.save(sys.argv[2], artifact.sample(tf.constant(12), tf.constant(4))["images"].numpy())
"""


def test_mixture_sampler_round_trips_through_export(tmp_path):
    from zoo import export

    model = zoo.get("ae_mixture", latent_dim=3, hidden_units=(16,), mixture_components=2)
    rng = np.random.default_rng(0)
    model.fit_prior(np.concatenate([rng.normal(-3, 1, (200, 3)), rng.normal(3, 0.5, (100, 3))]))
    np.testing.assert_allclose(np.sort(np.exp(model.mixture_logits.numpy())), [1 / 3, 2 / 3], atol=0.02)
    export.export(model, tmp_path / "artifact", {"model": "ae_mixture"})
    (tmp_path / "sample.py").write_text(MIXTURE_SAMPLE)
    result = run_python([str(tmp_path / "sample.py"), str(tmp_path / "artifact"), str(tmp_path / "out.npy")])
    assert result.returncode == 0, result.stderr[-3000:]
    expected = model.sample(12, tf.constant([4, 0], tf.int64)).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-6)
    reloaded = zoo.load(tmp_path / "artifact" / "model.keras")
    np.testing.assert_array_equal(reloaded.mixture_means.numpy(), model.mixture_means.numpy())


def test_frechet_distance_is_zero_for_identical_sets_and_grows_with_a_shift():
    features = np.random.default_rng(0).normal(size=(2000, 16))
    assert abs(metrics.frechet_distance(features, features)) < 1e-6
    distances = [metrics.frechet_distance(features, features + shift) for shift in (0.5, 1.0, 2.0)]
    np.testing.assert_allclose(distances, [16 * 0.25, 16 * 1.0, 16 * 4.0], rtol=1e-6)  # ||shift||^2
    scaled = metrics.frechet_distance(features, features * 2.0)
    assert scaled > 1.0


def test_slerp_keeps_norms_between_its_endpoints_norms():
    rng = np.random.default_rng(1)
    for _ in range(20):
        start, end = rng.normal(size=32), 2.0 * rng.normal(size=32)
        norms = np.linalg.norm(plots.slerp(start, end, 15), axis=1)
        low, high = sorted([np.linalg.norm(start), np.linalg.norm(end)])
        assert np.all(norms >= low - 1e-4) and np.all(norms <= high + 1e-4)
        linear = np.linalg.norm(plots.lerp(start, end, 15), axis=1)
        assert linear.min() < norms.min()  # linear interpolation cuts through the low-norm middle


def test_classifier_artifact_meets_its_bar(mnist_dir):
    """Recomputes the test accuracy from the exported artifact on all 10,000 test digits (a few seconds), so
    it must match the card's number up to float rounding, and clear the bar of 0.99."""
    import tensorflow as tf

    from zoo import data

    card = json.loads((ROOT / "saved_models" / "mnist_classifier" / "card.json").read_text())
    images, labels = data.mnist_grayscale(mnist_dir)["test"]
    classifier = tf.saved_model.load(str(ROOT / "saved_models" / "mnist_classifier"))
    probs = metrics.classifier_outputs(classifier.classify, images)[1]
    accuracy = float(np.mean(np.argmax(probs, axis=1) == labels))
    assert accuracy >= 0.99
    assert accuracy == pytest.approx(card["metrics"]["test_accuracy"]["value"], abs=2e-4)


@pytest.mark.parametrize("module, argv, message", [
    ("gan_mnist", ["--latent-dim", "0"], "--latent-dim must be in 1..10000; received --latent-dim=0"),
    ("gan_mnist", ["--learning-rate", "-0.1"], "--learning-rate must be positive; received --learning-rate=-0.1"),
    ("gan_mnist", ["--frechet-every", "2"], "--frechet-every chooses the checkpoint on training images held out from "
                                            "GAN training: pass --validation-size > 0 too; received --frechet-every=2 "
                                            "--validation-size=0"),
    ("cvae_mnist", ["--beta", "-1"], "--beta must be >= 0; received --beta=-1.0"),
    ("ae_mixture_mnist", ["--components", "0"], "--components must be in 1..1000; received --components=0"),
    ("ae_mixture_mnist", ["--autoencoder", "/no/such/model.keras"],
     "--autoencoder takes a .keras model archive of a zoo.models.ae.AE; '/no/such/model.keras' does not exist"),
    ("mnist_classifier", ["--dropout", "1"], "--dropout must be in [0, 1); received --dropout=1.0"),
    ("latent_moves", ["--artifact", "/no/such/dir"], "--artifact takes an artifact directory (card.json, saved_model.pb); "
                                                     "'/no/such/dir' does not exist"),
])
def test_bad_flags_exit_2_with_one_line(module, argv, message):
    result = run_python(["-m", f"recipes.{module}", *argv])
    assert result.returncode == 2
    assert result.stderr == f"python -m recipes.{module}: error: {message}\n"


def test_gan_resumes_both_players_and_both_optimizers(mnist_dir, tmp_path):
    from recipes.gan_mnist import GANMnistConfig
    from zoo import pipeline, training

    config = GANMnistConfig(data_dir=mnist_dir, train_limit=400, epochs=2, latent_dim=8, filters=8,
                            run_dir=str(tmp_path), export_dir="")
    trained, _, checkpoint = training.train(config, verbose=0, callbacks=pipeline.progress_callbacks(config))
    assert (tmp_path / "figures" / "progress" / "epoch-0002.png").exists()
    fresh = training.build_model(config, tf.distribute.get_strategy(), 4, False)
    assert training.EpochCheckpoint(tmp_path, 400, checkpoint.run_config).restore(fresh) == 2
    for optimizer in ("d_optimizer", "g_optimizer"):
        assert int(getattr(fresh, optimizer).iterations) == int(getattr(trained, optimizer).iterations) == 8
    for mine, theirs in zip(fresh.weights + fresh.d_optimizer.variables + fresh.g_optimizer.variables,
                            trained.weights + trained.d_optimizer.variables + trained.g_optimizer.variables):
        if "seed_generator" not in mine.path:
            np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_gan_optimizers_scale_the_loss_under_mixed_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = zoo.get("gan", latent_dim=8, filters=8)
        model.compile(**model.training_optimizers(1e-3))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer)


def test_gan_options_hinge_spectral_norm_ttur_and_moving_average():
    model = zoo.get("gan", latent_dim=8, filters=8, hinge=True, spectral_norm=True, ema_decay=0.5,
                    discriminator_lr_ratio=4.0)
    model.compile(**model.training_optimizers(1e-3))
    assert float(model.d_optimizer.learning_rate) == pytest.approx(4e-3)
    assert float(model.g_optimizer.learning_rate) == pytest.approx(1e-3)
    assert any(isinstance(layer, keras.layers.SpectralNormalization) for layer in model.discriminator.layers)
    images = np.random.default_rng(0).random((16, 28, 28, 1)).astype(np.float32)
    before = [w.numpy() for w in model.ema_generator.weights]
    model.train_step(tf.constant(images))
    # One step: the average moved halfway to the new weights (decay 0.5) from where both started.
    for average, old, new in zip(model.ema_generator.weights, before, model.generator.weights):
        np.testing.assert_allclose(average.numpy(), 0.5 * old + 0.5 * new.numpy(), rtol=1e-5, atol=1e-6)
    codes = tf.random.stateless_normal([4, 8], seed=[0, 1])
    np.testing.assert_allclose(model.generate(codes).numpy(),
                               tf.sigmoid(model.ema_generator(codes, training=False)).numpy(), rtol=1e-6)
    terms = model.discriminator_terms(tf.constant(images), training=False)
    real = model._logits(tf.constant(images), False)
    assert float(terms["d_loss"]) >= float(tf.reduce_mean(tf.nn.relu(1 - real)))  # hinge terms are >= 0
    assert np.isfinite(float(terms["value"])) and float(terms["value"]) < 0  # C(D, G) stays the reported value
    with pytest.raises(ValueError, match=r"ema_decay must be in \[0, 1\); received ema_decay=1.0"):
        zoo.get("gan", ema_decay=1.0)


def test_gan_recipe_keeps_the_best_checkpoint_by_frechet_distance(mnist_dir, tmp_path):
    from recipes import gan_mnist

    gan_mnist.main(["--data-dir", mnist_dir, "--train-limit", "600", "--epochs", "2", "--latent-dim", "8",
                    "--filters", "8", "--ema-decay", "0.9", "--spectral-norm", "--validation-size", "1000",
                    "--frechet-every", "1", "--frechet-samples", "500", "--eval-samples", "10",
                    "--frechet-classifier", str(ROOT / "saved_models" / "mnist_classifier"),
                    "--run-dir", str(tmp_path / "run"), "--export-dir", str(tmp_path / "export")])
    curve = json.loads((tmp_path / "run" / "frechet.json").read_text())["curve"]
    assert [point["epoch"] for point in curve] == [1, 2] and all(point["frechet_distance"] > 0 for point in curve)
    best = min(curve, key=lambda point: point["frechet_distance"])
    card = json.loads((tmp_path / "export" / "card.json").read_text())
    assert card["metrics"]["best_epoch"]["value"] == best["epoch"]
    assert card["metrics"]["held_out_frechet_distance"]["value"] == pytest.approx(best["frechet_distance"])
    assert (tmp_path / "run" / "figures" / "frechet_curve.png").stat().st_size > 5000
    assert card["model_config"]["ema_decay"] == 0.9 and card["model_config"]["spectral_norm"] is True


def test_gan_refinement_convs_deepen_both_networks_and_survive_saving(tmp_path):
    plain, deep = (zoo.get("gan", latent_dim=8, filters=8, refinement_convs=count, ema_decay=0.9, spectral_norm=True)
                   for count in (0, 2))
    convs = lambda network: sum(isinstance(getattr(layer, "layer", layer), keras.layers.Conv2D)
                                for layer in network.layers)
    assert convs(deep.generator) == convs(plain.generator) + 4  # two at each of the two inner resolutions
    assert convs(deep.discriminator) == convs(plain.discriminator) + 4
    normalized = sum(isinstance(layer, keras.layers.SpectralNormalization) for layer in deep.discriminator.layers)
    assert normalized == convs(deep.discriminator) + 1  # every convolution and the logit layer
    deep.compile(**deep.training_optimizers(1e-3))
    deep.train_step(tf.constant(np.random.default_rng(0).random((16, 28, 28, 1)).astype(np.float32)))
    deep.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    assert loaded.refinement_convs == 2
    seed = tf.constant([0, 1])
    np.testing.assert_allclose(loaded.sample(4, seed), deep.sample(4, seed), atol=1e-6)
    with pytest.raises(ValueError, match=r"refinement_convs must be >= 0; received refinement_convs=-1"):
        zoo.get("gan", refinement_convs=-1)


def test_gan_discriminator_batch_norm_follows_every_convolution_but_the_first(tmp_path):
    model = zoo.get("gan", latent_dim=8, filters=8, refinement_convs=1, discriminator_batch_norm=True)
    layers = model.discriminator.layers
    convs = [index for index, layer in enumerate(layers) if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 4
    assert not isinstance(layers[convs[0] + 1], keras.layers.BatchNormalization)
    assert all(isinstance(layers[index + 1], keras.layers.BatchNormalization) for index in convs[1:])
    assert not any(isinstance(layer, keras.layers.BatchNormalization)
                   for layer in zoo.get("gan", latent_dim=8, filters=8, refinement_convs=1).discriminator.layers)
    model.compile(**model.training_optimizers(1e-3))
    images = tf.constant(np.random.default_rng(0).random((16, 28, 28, 1)).astype(np.float32))
    moving_mean = next(layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)).moving_mean
    model.train_step(images)
    assert np.abs(moving_mean.numpy()).max() > 0  # the discriminator's batch statistics were used and tracked
    model.save(tmp_path / "gan.keras")
    assert keras.models.load_model(tmp_path / "gan.keras").discriminator_batch_norm is True


def ablation_row(settings, variant, best_distance, cpu=None):
    """A results row of the GAN ablation as `settings` would run `variant`."""
    from benchmarks.gan_ablation import VARIANTS, recipe_argv
    from zoo import flags

    return {"variant": variant, "adds": VARIANTS[variant][0], "best_distance": best_distance, "best_epoch": 8,
            "last_distance": best_distance, "minutes": 6.0, "curve": [], **({"cpu": cpu} if cpu else {}),
            "command": flags.command_line("python -m recipes.gan_mnist", recipe_argv(settings, variant))}


def test_gan_ablation_keeps_earlier_rows_of_the_same_budget_and_replaces_the_rerun_ones():
    import dataclasses

    from benchmarks.gan_ablation import GANAblationConfig, merged_rows

    settings = GANAblationConfig(data_dir="../shared/data/mnist", epochs=8)
    earlier = {"cpu": "AMD EPYC", "epochs": 8, "data": "d", "rows": [
        ablation_row(settings, "hinge", 187.1), ablation_row(settings, "base", 217.9), {"variant": "gone"}]}
    measured = {"hinge_batch_norm": ablation_row(settings, "hinge_batch_norm", 99.0, "Intel Xeon"),
                "base": ablation_row(settings, "base", 200.0, "Intel Xeon")}
    rows = merged_rows(earlier, measured, dataclasses.replace(settings, data_dir="/elsewhere/mnist"), "d")
    assert [(row["variant"], row["best_distance"], row["cpu"]) for row in rows] == [
        ("base", 200.0, "Intel Xeon"), ("hinge", 187.1, "AMD EPYC"), ("hinge_batch_norm", 99.0, "Intel Xeon")]
    assert [row["variant"] for row in merged_rows(earlier, measured, dataclasses.replace(settings, epochs=4), "d")] == [
        "base", "hinge_batch_norm"]


def test_gan_ablation_table_names_each_rows_cpu_only_when_they_differ():
    from benchmarks.gan_ablation import markdown

    row = {"variant": "hinge", "adds": "+ hinge loss", "best_distance": 187.14, "best_epoch": 8, "last_distance": 187.14,
           "minutes": 6.04, "cpu": "AMD EPYC (AVX2)"}
    one = markdown([row, {**row, "variant": "base"}], epochs=8)
    assert "| hinge | + hinge loss | 187.1 (8) | 187.1 | 6.0 |\n" in one and "8 epochs each on AMD EPYC (AVX2)." in one
    two = markdown([row, {**row, "variant": "base", "cpu": "Intel Xeon (AMX)"}], epochs=8)
    assert "| base | + hinge loss | 187.1 (8) | 187.1 | 6.0 | Intel Xeon (AMX) |" in two
    assert "| minutes | CPU |" in two and "8 epochs each." in two


def test_grids_side_by_side_draws_each_panel_where_it_belongs(tmp_path):
    import matplotlib.image

    black, white = np.ones((36, 28, 28, 1)), np.zeros((36, 28, 28, 1))  # gray_r: 1 is black
    path = plots.grids_side_by_side([("black", black), ("white", white), ("black", black), ("white", white)], 6,
                                    tmp_path / "panels.png", columns=2)
    pixels = matplotlib.image.imread(path)[..., :3].mean(axis=-1)
    height, width = pixels.shape
    quadrants = [pixels[:height // 2, :width // 2], pixels[:height // 2, width // 2:],
                 pixels[height // 2:, :width // 2], pixels[height // 2:, width // 2:]]
    darkness = [float((quadrant < 0.2).mean()) for quadrant in quadrants]
    assert min(darkness[0], darkness[2]) > 0.6 and max(darkness[1], darkness[3]) < 0.2, darkness  # cell borders are dark
