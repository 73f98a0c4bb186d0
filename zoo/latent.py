"""The card's "latent" entry, for the page's latent explorer: the mean code and the two leading principal directions
of the codes of MNIST's first LATENT_IMAGES test images (scikit-learn's PCA), with the codes' standard deviation
along each. Computed when an artifact is exported (zoo.pipeline), so that the server reads it from the card
(zoo.servables) and never reads MNIST."""

import json
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA

import zoo
from zoo import data
from zoo.batching import apply_in_batches
from zoo.files import atomic_write_text

LATENT_IMAGES = 2000


def test_images(data_dir=None):
    """The first LATENT_IMAGES MNIST test images, grey levels in [0, 1]."""
    return data.mnist_grayscale(data_dir)["test"][0][:LATENT_IMAGES]


def card_entry(model, images):
    """The "latent" entry of `model` (a zoo model) on `images`; None for models without an images-only `encode` and a
    code-only `decode` endpoint, or with a code of one unit."""
    endpoints = model.endpoints()
    encode, decode = endpoints.get("encode"), endpoints.get("decode")
    if not (encode and decode and [spec.name for spec in encode.inputs] == ["images"]
            and [spec.name for spec in decode.inputs] == ["code"]):
        return None
    codes = apply_in_batches(lambda batch: encode.function(batch)["code"], images)
    if codes.shape[1] < 2:
        return None
    pca = PCA(n_components=2, random_state=0).fit(codes)  # a randomized solver for large codes: the same each time
    return {"mean": pca.mean_.tolist(), "directions": pca.components_.tolist(),
            "scales": np.sqrt(pca.explained_variance_).tolist(), "images": len(images), "code_size": codes.shape[1]}


def add_to_card(artifact_dir, data_dir=None):
    """Writes the "latent" entry of the artifact's model.keras into its card.json (atomically, in the format export
    writes), touching no other file: how artifacts exported before the entry existed get it without a re-export.
    Returns the entry (None, and the card unchanged, for a model without one)."""
    artifact_dir = Path(artifact_dir)
    card = zoo.card(artifact_dir)
    entry = card_entry(zoo.load(artifact_dir / "model.keras"), test_images(data_dir))
    if entry is not None:
        card["latent"] = entry
        atomic_write_text(artifact_dir / "card.json", json.dumps(card, indent=1, default=str) + "\n")
    return entry
