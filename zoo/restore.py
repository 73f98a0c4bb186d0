"""Denoising and inpainting of digits: corruptions, restorers, iterative inpainting, PSNR and SSIM.

Corruptions (`CORRUPTIONS`, by name) return (corrupted images, known-pixel mask or None). The mask
is given when the user would know which pixels are missing (a missing block, a missing half); noise
leaves it None. Restorers (`RESTORERS`) map (corrupted, known, reconstruct) to restored images, where
`reconstruct` is a model's reconstruction function (e.g. an exported artifact's `reconstruct`).
"""

import numpy as np
import tensorflow as tf
from scipy import ndimage

from zoo.corruptions import BLOCK_SIZE


def masking_noise(q):
    def corrupt(images, rng):
        return np.where(rng.random(images.shape) < q, 0.0, images).astype(np.float32), None

    return corrupt


def gaussian_noise(sigma):
    def corrupt(images, rng):
        return np.clip(images + sigma * rng.standard_normal(images.shape), 0, 1).astype(np.float32), None

    return corrupt


def missing_block(images, rng, size=BLOCK_SIZE):
    """A size x size block at a random position of each image set to 0; its pixels are unknown."""
    known = np.ones(images.shape, np.float32)
    h, w = images.shape[1:3]
    for index, (top, left) in enumerate(zip(rng.integers(0, h - size + 1, len(images)),
                                            rng.integers(0, w - size + 1, len(images)))):
        known[index, top:top + size, left:left + size] = 0
    return images * known, known


def missing_bottom_half(images, rng):
    known = np.ones(images.shape, np.float32)
    known[:, images.shape[1] // 2:] = 0
    return images * known, known


CORRUPTIONS = {
    "masking q=0.25": masking_noise(0.25),
    "masking q=0.5": masking_noise(0.5),
    "gaussian sigma=0.3": gaussian_noise(0.3),
    "gaussian sigma=0.5": gaussian_noise(0.5),
    f"missing {BLOCK_SIZE}x{BLOCK_SIZE} block": missing_block,
    "missing bottom half": missing_bottom_half,
}


def inpaint(reconstruct, corrupted, known, fill, iterations=50, tolerance=1e-3):
    """Iterative inpainting: start with the unknown pixels set to `fill`, then repeatedly replace them with
    the model's reconstruction while keeping every known pixel, until no pixel moves by more than
    `tolerance` (or after `iterations`). Known pixels are never changed. Returns (images, iterations run)."""
    known = np.asarray(known, np.float32)
    current = known * corrupted + (1 - known) * fill
    for step in range(1, iterations + 1):
        proposal = known * corrupted + (1 - known) * np.asarray(reconstruct(current), np.float32)
        change = float(np.max(np.abs(proposal - current)))
        current = proposal
        if change < tolerance:
            return current, step
    return current, iterations


def median_filter(images, size=3):
    """Each pixel of each image [b, h, w, c] replaced by the median of its size x size neighbourhood in the same
    image and channel; edges are extended by reflection about the edge pixel (numpy's pad mode "reflect",
    scipy's "mirror")."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must be [batch, height, width, channels]; received shape {images.shape}")
    return ndimage.median_filter(images, size=(1, size, size, 1), mode="mirror").astype(np.float32)


def psnr(restored, clean):
    """Peak signal-to-noise ratio of each image in dB, for pixel values in [0, 1] (capped at 100 dB)."""
    mse = np.mean((np.asarray(restored, np.float64) - clean) ** 2, axis=(1, 2, 3))
    return np.minimum(10 * np.log10(1.0 / np.maximum(mse, 1e-10)), 100.0)


def ssim(restored, clean):
    """Structural similarity of each image (tf.image.ssim: 11x11 Gaussian window, sigma 1.5, range 1)."""
    return tf.image.ssim(tf.constant(restored, tf.float32), tf.constant(clean, tf.float32), max_val=1.0).numpy()
