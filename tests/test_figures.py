"""The figures follow the data: grids show colour images in colour and other sources' grayscale as it is (MNIST's
digits dark on white); a table gets its own figures in raw units; data without labels draws without colouring by
class (and without looking for a pair of different classes, which never comes)."""

import signal

import matplotlib.image
import numpy as np
import pytest

from zoo import data, plots, registry, sources


def pixels(path):
    return matplotlib.image.imread(path)[..., :3]


def test_a_colour_grid_keeps_its_colours_and_other_grayscale_is_not_inverted(tmp_path):
    red = np.zeros((20, 16, 16, 3), np.float32)
    red[..., 0] = 1.0
    image = pixels(plots.image_grid(red, 2, tmp_path / "red.png", inverted=False))
    reddish = (image[..., 0] > 0.8) & (image[..., 1] < 0.2) & (image[..., 2] < 0.2)
    assert reddish.mean() > 0.3, reddish.mean()
    ones = np.ones((20, 16, 16, 1), np.float32)
    plain = pixels(plots.image_grid(ones, 2, tmp_path / "plain.png", inverted=False)).mean(-1)
    mnist_style = pixels(plots.image_grid(ones, 2, tmp_path / "mnist.png")).mean(-1)
    assert (plain > 0.9).mean() > 0.6 and (mnist_style < 0.2).mean() > 0.3  # 1 is white, or black in MNIST's look


@pytest.fixture(scope="module")
def table():
    return data.pipelines(sources.load("sklearn:breast_cancer"), batch_size=50, binarization="none")


def test_a_table_model_draws_its_columns_in_raw_units(table, tmp_path):
    model = registry.get("vae", image_shape=table.input_shape, standardize=True, likelihood="gaussian",
                         latent_dim=4, hidden_units=(16,))
    model.adapt(table.train.map(lambda images, labels: images))
    drawn = plots.draw_all(model, table, tmp_path)
    assert sorted(path.name for path in drawn) == ["latent_space.png", "reconstructions.png", "samples.png"]
    look = plots.look_of(table)
    assert look.noun == "rows" and look.class_names == ("malignant", "benign") and look.columns[0] == "mean radius"
    assert not look.inverted


def test_images_without_labels_draw_every_figure_and_finish(tmp_path):
    rng = np.random.default_rng(0)
    arrays = sources.SourceArrays(
        kind="images", x_train=rng.random((64, 8, 8, 1), np.float32), y_train=None,
        x_test=rng.random((16, 8, 8, 1), np.float32), y_test=None, fingerprint="x", description="noise",
        class_names=None, columns=None, test_part="given", spec="arrays:noise.npz")
    unlabelled = data.pipelines(arrays, batch_size=16, binarization="none")
    model = registry.get("ae", image_shape=(8, 8, 1), latent_dim=3, hidden_units=(8,))
    signal.alarm(120)  # interpolation looked for two test images of different classes: unlabelled, it never ended
    try:
        drawn = plots.draw_all(model, unlabelled, tmp_path)
    finally:
        signal.alarm(0)
    assert {"reconstructions.png", "latent_space.png", "interpolation.png"} <= {path.name for path in drawn}
    assert plots.look_of(unlabelled).class_names is None
