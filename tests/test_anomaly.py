"""Anomaly detection: the scores, threshold and ROC measures, the exported score endpoint, the recipe."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_python
from zoo import anomaly


def test_auroc_is_the_probability_an_anomaly_outscores_a_normal_image():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 20, 300).astype(float)  # many ties
    is_anomaly = rng.random(300) < 0.3
    pairs = scores[is_anomaly][:, None] - scores[~is_anomaly][None, :]
    expected = np.mean((pairs > 0) + 0.5 * (pairs == 0))
    assert anomaly.auroc(scores, is_anomaly) == pytest.approx(expected, abs=1e-12)
    fpr, tpr = anomaly.roc_curve(scores, is_anomaly)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1) and np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError, match="AUROC needs both classes; received 0 anomalies and 300 normal"):
        anomaly.auroc(scores, np.zeros(300, bool))


def test_threshold_flags_the_target_fraction_of_normal_data():
    normal = np.random.default_rng(1).normal(size=20000)
    threshold = anomaly.threshold_at_false_positive_rate(normal, 0.05)
    assert np.mean(normal > threshold) == pytest.approx(0.05, abs=0.001)
    measured = anomaly.precision_recall(np.r_[normal, normal + 10], np.r_[np.zeros(20000), np.ones(20000)], threshold)
    assert measured["recall"] == 1.0 and measured["false_positive_rate"] == pytest.approx(0.05, abs=0.001)
    with pytest.raises(ValueError, match=r"false_positive_rate must be in \(0, 1\); received 1.5"):
        anomaly.threshold_at_false_positive_rate(normal, 1.5)


@pytest.fixture(scope="module")
def trained_vae_and_ae(mnist_dir, tmp_path_factory):
    from recipes.ae_mnist import AEMnistConfig
    from recipes.vae_mnist import VAEMnistConfig
    from zoo import pipeline, training

    root = tmp_path_factory.mktemp("anomaly")
    small = dict(data_dir=mnist_dir, epochs=2, train_limit=3000, batch_size=100, hidden_units=(128,), eval_samples=10,
                 validation_size=5000)
    vae_config = VAEMnistConfig(**small, run_dir=str(root / "vae"), export_dir=str(root / "vae_export"))
    ae_config = AEMnistConfig(**small, run_dir=str(root / "ae"), export_dir=str(root / "ae_export"))
    pipeline.publish(vae_config)
    pipeline.publish(ae_config)
    return {"vae": (training.load_trained(vae_config), vae_config), "ae": (training.load_trained(ae_config), ae_config)}


def planted_batch(images):
    """Normal test digits and as many planted anomalies: uniform noise images."""
    noise = np.random.default_rng(2).random(images.shape).astype(np.float32)
    return np.concatenate([images, noise]), np.r_[np.zeros(len(images), bool), np.ones(len(noise), bool)]


@pytest.mark.parametrize("name, score", [("ae", "reconstruction"), ("vae", "reconstruction"), ("vae", "neg_elbo"),
                                         ("vae", "neg_log_likelihood")])
def test_scores_rank_a_planted_batch_above_normal_digits(trained_vae_and_ae, mnist_small, name, score):
    model, _ = trained_vae_and_ae[name]
    images, is_anomaly = planted_batch(mnist_small.test_images[:300])
    options = {"samples": 10} if score == "neg_log_likelihood" else {}
    assert anomaly.auroc(anomaly.scores(model, images, score, **options), is_anomaly) > 0.99


def test_png_bits_orders_images_by_complexity(mnist_small):
    from zoo.losses import png_bits

    blank = np.zeros((1, 28, 28, 1), np.float32)
    noise = np.random.default_rng(3).random((1, 28, 28, 1)).astype(np.float32)
    one, eight = (mnist_small.test_images[mnist_small.test_labels == digit][:1] for digit in (1, 8))
    bits = png_bits(np.concatenate([blank, one, eight, noise])).numpy()
    assert bits[0] < bits[1] < bits[2] < bits[3], bits
    assert bits[3] > 8 * 28 * 28 * 0.9  # uniform noise barely compresses


def test_complexity_scores_and_their_correlation(trained_vae_and_ae, mnist_small):
    from zoo.losses import png_bits

    model, _ = trained_vae_and_ae["vae"]
    images = mnist_small.test_images[:200]
    elbo, bits = anomaly.scores(model, images, "neg_elbo"), png_bits(images).numpy()
    np.testing.assert_allclose(anomaly.scores(model, images, "neg_elbo_per_png_bit"), elbo / bits, rtol=1e-5)
    np.testing.assert_allclose(anomaly.scores(model, images, "neg_elbo_minus_png_nats"), elbo - np.log(2) * bits,
                               rtol=1e-5, atol=1e-3)
    assert anomaly.complexity_correlation(bits, images) == pytest.approx(1.0)
    assert anomaly.complexity_correlation(-bits, images) == pytest.approx(-1.0)
    assert abs(anomaly.complexity_correlation(np.random.default_rng(4).random(200), images)) < 0.25
    # Scores made of 0.3 x the PNG length in nats plus noise: the weight that decorrelates them is about 0.3.
    planted = 0.3 * np.log(2) * bits + np.random.default_rng(5).normal(0, 1, 200)
    assert anomaly.decorrelating_weight(planted, images) == pytest.approx(0.3, abs=0.05)
    model.complexity_weight = 0.5
    np.testing.assert_allclose(anomaly.scores(model, images, "neg_elbo_minus_weighted_png_nats"),
                               elbo - 0.5 * np.log(2) * bits, rtol=1e-5, atol=1e-3)
    assert model.anomaly_score_description == "-ELBO in nats"
    with pytest.raises(ValueError, match="anomaly_score_name must be one of neg_elbo, .*; received anomaly_score_name='x'"):
        type(model)(anomaly_score_name="x")


def test_unknown_or_inapplicable_score_is_refused(trained_vae_and_ae):
    model, _ = trained_vae_and_ae["ae"]
    with pytest.raises(ValueError, match="the neg_elbo score does not apply to AE; its scores: reconstruction"):
        anomaly.scores(model, np.zeros((2, 28, 28, 1), np.float32), "neg_elbo")
    with pytest.raises(ValueError, match="unknown anomaly score 'nope'"):
        anomaly.scores(model, np.zeros((2, 28, 28, 1), np.float32), "nope")


SCORE_IN_PLAIN_TF = """
import json, sys
import numpy as np
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
images = np.load(sys.argv[2])
print(json.dumps(loaded.score(tf.constant(images))["score"].numpy().tolist()))
try:
    loaded.score(tf.constant(images * 2))
except Exception as error:
    print("refused:", "images must be in [0, 1]" in str(error))
"""


@pytest.mark.parametrize("name", ["ae", "vae"])
def test_score_endpoint_and_card_threshold(trained_vae_and_ae, tmp_path, name):
    model, config = trained_vae_and_ae[name]
    card = json.loads((Path(config.export_dir) / "card.json").read_text())
    entry = card["anomaly"]
    assert entry["endpoint"] == "score" and entry["target_false_positive_rate"] == 0.01
    assert entry["held_out_images"] == 5000 and "validation images" in entry["held_out_data"]
    from zoo import data

    test = data.mnist(100, config.binarization, config.data_dir).test_images
    np.save(tmp_path / "images.npy", test[:200])
    result = run_python(["-c", SCORE_IN_PLAIN_TF, config.export_dir, str(tmp_path / "images.npy")])
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    exported = np.array(json.loads(lines[-2]))
    np.testing.assert_allclose(exported, model.anomaly_score(test[:200]).numpy(), rtol=1e-4, atol=1e-3)
    assert lines[-1] == "refused: True"
    flagged = np.mean(anomaly.scores(model, test, "neg_elbo" if name == "vae" else "reconstruction") > entry["threshold"])
    assert 0.001 < flagged < 0.04  # chosen on held-out training digits, it flags about 1% of the test digits


def test_one_class_recipe_on_one_digit(mnist_dir, tmp_path):
    from recipes import anomaly_mnist

    anomaly_mnist.main(["--data-dir", mnist_dir, "--digits", "1", "--epochs", "1", "--likelihood-samples", "2",
                        "--validation-size", "5000", "--run-dir", str(tmp_path), "--export-dir", str(tmp_path / "export")])
    results = json.loads((tmp_path / "results.json").read_text())["results"]
    assert results["conv_ae"]["1"]["reconstruction"]["auroc"] > 0.9
    vae = results["vae"]["1"]
    chosen = vae["chosen"]
    for name in ("neg_elbo", chosen):
        assert vae[name]["auroc"] > 0.9 and 0 < vae[name]["false_positive_rate"] < 0.2
    assert 0 <= vae["complexity_weight"] <= 1
    assert abs(vae[chosen]["complexity_correlation"]) == min(
        abs(vae[name]["complexity_correlation"]) for name in anomaly_mnist.ENDPOINT_SCORES["vae"])
    # The exported detector serves the chosen score, in plain TensorFlow, with the threshold of that score.
    export_dir = tmp_path / "export" / "vae" / "digit1"
    card = json.loads((export_dir / "card.json").read_text())
    assert card["anomaly"]["threshold"] == pytest.approx(vae[chosen]["threshold"], rel=1e-6)
    assert card["model_config"]["anomaly_score_name"] == chosen and card["anomaly"]["normal_digit"] == 1
    assert card["model_config"]["complexity_weight"] == vae["complexity_weight"]
    from zoo import data

    images = data.mnist(100, "dynamic", mnist_dir).test_images[:50]
    np.save(tmp_path / "images.npy", images)
    result = run_python(["-c", SCORE_IN_PLAIN_TF, str(export_dir), str(tmp_path / "images.npy")])
    assert result.returncode == 0, result.stderr[-2000:]
    from zoo import training

    model = training.load_trained(anomaly_mnist.detector_config(
        anomaly_mnist.AnomalyMnistConfig(data_dir=mnist_dir, epochs=1, validation_size=5000, run_dir=str(tmp_path)),
        "vae", 1))
    model.complexity_weight = vae["complexity_weight"]
    np.testing.assert_allclose(json.loads(result.stdout.strip().splitlines()[-2]),
                               anomaly.scores(model, images, chosen), rtol=1e-4, atol=1e-3)
    for figure in ("conv_ae_roc.png", "conv_ae_ranked.png", "vae_roc.png", "vae_ranked.png"):
        assert (tmp_path / figure).stat().st_size > 5000
    assert "| 1 |" in (tmp_path / "results.md").read_text()


def test_one_class_training_sees_only_the_normal_digit(mnist_dir):
    from zoo import data

    dataset = data.mnist(100, "none", mnist_dir, validation_size=5000, train_digits=(3,))
    train_labels = np.concatenate([labels.numpy() for _, labels in dataset.train])
    validation_labels = np.concatenate([labels.numpy() for _, labels in dataset.validation])
    assert set(train_labels) == {3} and set(validation_labels) == {3}
    assert len(set(dataset.test_labels)) == 10 and dataclasses.is_dataclass(dataset)


def test_bad_anomaly_flags_exit_2_with_one_line():
    result = run_python(["-m", "recipes.anomaly_mnist", "--digits", "1", "12"])
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "--digits takes distinct digits 0..9; received --digits=1 12" in result.stderr
    result = run_python(["-m", "recipes.anomaly_mnist", "--detectors", "svm"])
    assert result.returncode == 2 and "--detectors takes some of conv_ae, vae; received --detectors=svm" in result.stderr
