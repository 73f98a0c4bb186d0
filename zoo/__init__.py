"""The autoencoder zoo: Keras 3 autoencoders with their own train steps, recipes, and exported artifacts.

    import zoo
    model = zoo.get("vae", latent_dim=32)     # any name in zoo.names()
    model = zoo.load("saved_models/vae_mnist/model.keras")

Importing `zoo` does not import TensorFlow (so that command lines parse and fail fast); the models
are imported on first use.
"""

from zoo import registry


def _models():
    import zoo.models  # noqa: F401  (registers every model)


def get(name, **config):
    """Builds the registered model `name`; see `names()`."""
    _models()
    return registry.get(name, **config)


def names():
    """Names of the registered models."""
    _models()
    return registry.names()


def load(path):
    """Loads a `.keras` file written by this zoo (a registered model with its weights)."""
    _models()
    import keras

    return keras.models.load_model(path)


__all__ = ["get", "names", "load"]
