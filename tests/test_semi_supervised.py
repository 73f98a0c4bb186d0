"""M2, the semi-supervised VAE (Kingma et al., 2014), on feature vectors."""

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo import training


def blobs(count, seed, dim=8, classes=4):
    """Well separated Gaussian clusters, one per class."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).normal(0, 3, (classes, dim)).astype(np.float32)
    labels = rng.integers(0, classes, count).astype(np.int32)
    return centres[labels] + rng.normal(0, 0.5, (count, dim)).astype(np.float32), labels


def test_the_objective_is_each_part_weighted_as_the_paper_says():
    model = zoo.get("semi_supervised_vae", input_dim=8, num_classes=4, latent_dim=3, hidden_units=(16,), alpha=7.0)
    features, labels = blobs(32, seed=1)
    stddev = np.zeros_like(features)
    losses = model.losses_of((features, stddev, features, stddev, labels))
    assert np.isclose(losses["loss"], losses["labelled"] + losses["unlabelled"] + 7.0 * losses["cross_entropy"],
                      rtol=1e-5)
    assert np.isfinite(float(losses["unlabelled"])) and 0 <= float(losses["accuracy"]) <= 1


def test_unlabelled_vectors_teach_the_classifier(tmp_path):
    features, labels = blobs(2000, seed=2)
    test_features, test_labels = blobs(500, seed=3)
    labelled = np.array([np.flatnonzero(labels == c)[0] for c in range(4)])  # one label per class
    paired = np.resize(labelled, len(features))
    stddev = np.full_like(features, 0.1)
    model = zoo.get("semi_supervised_vae", input_dim=8, num_classes=4, latent_dim=2, hidden_units=(32,),
                    alpha=0.1 * len(features) / len(labelled), seed=0)
    history = training.train_arrays(model, (features, stddev, features[paired], stddev[paired], labels[paired]),
                                    epochs=8, batch_size=50, learning_rate=3e-3)
    assert history.history["loss"][-1] < history.history["loss"][0]
    probs = model.classify(tf.constant(test_features))["probs"].numpy()
    assert np.allclose(probs.sum(-1), 1, atol=1e-5)
    assert (probs.argmax(-1) == test_labels).mean() > 0.95
    path = tmp_path / "m2.keras"
    model.save(path)
    np.testing.assert_allclose(zoo.load(path).classify(tf.constant(test_features))["probs"], probs, atol=1e-6)


def test_alpha_must_not_be_negative():
    with pytest.raises(ValueError, match="alpha must be >= 0; received alpha=-1"):
        zoo.get("semi_supervised_vae", alpha=-1.0)
