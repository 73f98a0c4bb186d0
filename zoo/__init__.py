"""The autoencoder zoo: Keras 3 autoencoders with their own train steps, recipes, and exported artifacts.

    import zoo
    model = zoo.get("vae", latent_dim=32)     # any name in zoo.names()
    model = zoo.load("saved_models/vae_mnist/model.keras")
"""

from zoo import models as _models  # noqa: F401  (registers every model)
from zoo.registry import get, names


def load(path):
    """Loads a `.keras` file written by this zoo (a registered model with its weights)."""
    import keras

    return keras.models.load_model(path)


__all__ = ["get", "names", "load"]
