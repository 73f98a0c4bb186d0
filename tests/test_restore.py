"""Denoising and inpainting: corruptions, iterative inpainting, PSNR/SSIM, and the restore recipe."""

import json

import numpy as np
import pytest

from tests.conftest import ROOT
from zoo import restore


@pytest.fixture(scope="module")
def digits(mnist_dir):
    from zoo import data

    return data.mnist_grayscale(mnist_dir)["test"][0][:200].astype(np.float32)


@pytest.mark.parametrize("corruption", ["missing 12x12 block", "missing bottom half"])
def test_inpainting_never_changes_known_pixels(digits, corruption):
    import tensorflow as tf

    artifact = tf.saved_model.load(str(ROOT / "saved_models" / "vae_mnist"))
    corrupted, known = restore.CORRUPTIONS[corruption](digits, np.random.default_rng(0))
    assert 0 < known.mean() < 1 and np.all(corrupted[known == 0] == 0)
    inpainted, steps = restore.inpaint(lambda x: artifact.reconstruct(tf.constant(x))["probs"].numpy(), corrupted,
                                       known, fill=digits.mean(axis=0), iterations=50)
    np.testing.assert_array_equal(inpainted[known == 1], corrupted[known == 1])
    assert steps >= 2 and not np.allclose(inpainted[known == 0], 0)  # the unknown pixels were filled in
    assert np.mean(restore.ssim(inpainted, digits)) > np.mean(restore.ssim(corrupted, digits))


def test_inpainting_stops_when_the_fill_settles():
    images = np.random.default_rng(1).random((4, 28, 28, 1)).astype(np.float32)
    known = np.ones_like(images)
    known[:, :14] = 0
    result, steps = restore.inpaint(lambda x: np.full_like(x, 0.25), images, known, fill=0.0, iterations=50)
    assert steps == 2 and np.all(result[known == 0] == 0.25) and np.all(result[known == 1] == images[known == 1])


def test_quality_measures(digits):
    assert np.all(restore.psnr(digits, digits) == 100.0)
    np.testing.assert_allclose(restore.ssim(digits, digits), 1.0, atol=1e-6)
    noisy, known = restore.CORRUPTIONS["gaussian sigma=0.3"](digits, np.random.default_rng(0))
    assert known is None and np.all(restore.psnr(noisy, digits) < 20)
    speckled = digits.copy()
    speckled[:, 5, 5] = 1.0  # isolated bright pixels on the background
    assert np.mean(np.abs(restore.median_filter(speckled)[:, 5, 5] - digits[:, 5, 5])) < 0.2


def test_median_filter_by_hand():
    ramp = np.arange(9, dtype=np.float32).reshape(3, 3)
    spike = np.zeros((3, 3), np.float32)
    spike[1, 1] = 9
    images = np.stack([np.stack([ramp, spike], -1), np.stack([8 - ramp, np.full((3, 3), 2.0)], -1)])
    # Edges reflect about the edge pixel (numpy's pad "reflect"): the window at (0, 0) of the ramp is
    # [[4, 3, 4], [1, 0, 1], [4, 3, 4]], median 3 (repeating the edge pixel instead would give 1).
    ramp_median = np.array([[3, 3, 4], [4, 4, 4], [4, 5, 5]], np.float32)
    filtered = restore.median_filter(images)
    assert filtered.dtype == np.float32 and filtered.shape == (2, 3, 3, 2)
    np.testing.assert_array_equal(filtered[0, ..., 0], ramp_median)
    np.testing.assert_array_equal(filtered[0, ..., 1], 0)  # the spike is removed, not spread into the ramp
    np.testing.assert_array_equal(filtered[1, ..., 0], 8 - ramp_median)  # each image on its own
    np.testing.assert_array_equal(filtered[1, ..., 1], 2)
    with pytest.raises(ValueError, match=r"received shape \(3, 3\)"):
        restore.median_filter(ramp)


def test_restore_recipe(mnist_dir, tmp_path):
    from recipes import restore_mnist

    artifacts = ROOT / "saved_models"
    restore_mnist.main(["--data-dir", mnist_dir, "--images", "200", "--out-dir", str(tmp_path),
                        "--denoiser", str(artifacts / "denoising_ae_mnist"),
                        "--gaussian-denoiser", str(artifacts / "denoising_ae_gaussian_mnist"),
                        "--blind-denoiser", str(artifacts / "denoising_ae_blind_mnist"),
                        "--vae", str(artifacts / "vae_mnist")])
    results = json.loads((tmp_path / "results.json").read_text())["results"]
    assert set(results) == set(restore.CORRUPTIONS)
    block = results["missing 12x12 block"]
    assert block["vae"]["ssim"] > block["corrupted"]["ssim"] and block["vae"]["psnr_db"] > block["baseline"]["psnr_db"]
    masked = results["masking q=0.5"]
    assert masked["denoising_ae"]["psnr_db"] > masked["corrupted"]["psnr_db"] + 3
    noisy = results["gaussian sigma=0.5"]
    assert noisy["denoising_ae_gaussian"]["psnr_db"] > noisy["baseline"]["psnr_db"] + 2
    assert len(list(tmp_path.glob("restore_*.png"))) == len(restore.CORRUPTIONS)
    table = (tmp_path / "results.md").read_text()
    assert table.count(": beats the corrupted input and the baseline") == len(restore.CORRUPTIONS), table


def test_best_restorer_must_beat_both_in_both_measures():
    from recipes.restore_mnist import best_restorer

    row = {"corrupted": {"psnr_db": 10, "ssim": 0.5}, "baseline": {"psnr_db": 12, "ssim": 0.6},
           "a": {"psnr_db": 14, "ssim": 0.55}, "b": {"psnr_db": 13, "ssim": 0.9}}
    assert best_restorer(row, ["a", "b"]) == ("a", False)  # the highest PSNR, below the baseline's SSIM
    row["a"]["ssim"] = 0.61
    assert best_restorer(row, ["a", "b"]) == ("a", True)
