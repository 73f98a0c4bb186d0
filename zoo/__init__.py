"""The autoencoder zoo: Keras 3 autoencoders with their own train steps, recipes, and exported artifacts.

    import zoo
    model = zoo.get("vae", latent_dim=32)     # any name in zoo.names()
    model = zoo.load("saved_models/vae_mnist/model.keras")

Importing `zoo` does not import TensorFlow (so that command lines parse and fail fast); the models
are imported on first use.
"""

from zoo import flags, registry
from zoo.errors import ZooError


def _models():
    import zoo.models  # noqa: F401  (registers every model)


def get(name, **config):
    """Builds the registered model `name` with `config` as its constructor's keyword arguments, e.g.
    `zoo.get("vae", latent_dim=32)`; `names()` lists the names, and an unknown name is a ValueError listing them."""
    _models()
    return registry.get(name, **config)


def model_class(name):
    """The class registered as `name` (what `get` builds); a ValueError listing the names otherwise."""
    _models()
    return registry.get_class(name)


def names():
    """Names of the registered models, sorted: every model `get` builds."""
    _models()
    return registry.names()


def load(path):
    """Loads a `.keras` file written by this zoo (a registered model with its weights); ZooError naming the file if it
    cannot be loaded."""
    _models()
    import keras

    try:
        return keras.models.load_model(path)
    except Exception as error:  # whatever Keras raises for a file it cannot read is one line naming the file
        raise ZooError(f"{path}: cannot be loaded as a model of this zoo ({_first_line(error)})") from None


def card(directory):
    """The card.json of an artifact directory as a dict; ZooError naming the file if it is missing or not a JSON
    object (at most flags.CARD_BYTES are read)."""
    found, problem = flags.read_card(directory)
    if problem:
        raise ZooError(problem)
    return found


def load_saved_model(directory):
    """`tf.saved_model.load(directory)`; ZooError naming the directory if it holds no SavedModel TensorFlow can load."""
    import tensorflow as tf

    try:
        return tf.saved_model.load(str(directory))
    except Exception as error:  # a missing, corrupt or foreign saved_model.pb: one line naming the directory
        raise ZooError(f"{directory}: cannot be loaded as a SavedModel ({_first_line(error)})") from None


def load_artifact(directory, *endpoint_sets):
    """An exported artifact of this zoo, loaded (`load_saved_model`), once `flags.artifact_problem` finds nothing
    wrong with its directory and card; with `endpoint_sets`, the loaded object must have every endpoint of one of
    them, as its card says. ZooError naming the directory otherwise."""
    problem = flags.artifact_problem(directory, endpoint_sets)
    if problem:
        raise ZooError(problem)
    loaded = load_saved_model(directory)
    if endpoint_sets and not any(all(hasattr(loaded, name) for name in wanted) for wanted in endpoint_sets):
        raise ZooError(f"{directory}: its card.json lists endpoints that its SavedModel does not have")
    return loaded


def endpoint_input_shape(loaded, endpoint):
    """The shape of one input of a loaded artifact's `endpoint` (its first argument, without the batch), e.g. (28,
    28, 1) for an MNIST model's `encode`."""
    return tuple(getattr(loaded, endpoint).concrete_functions[0].structured_input_signature[0][0].shape[1:])


def require_input_shape(what, takes, data, holds):
    """A ZooError unless the model `what` (e.g. "--vae saved_models/vae_mnist") takes inputs of the shape `takes`
    that the data `data` (its `--data` text) `holds`; a side of None in `takes` (a model that resizes its images)
    takes any size."""
    if len(takes) != len(holds) or any(side is not None and side != held for side, held in zip(takes, holds)):
        shown = ["any" if side is None else side for side in takes]
        raise ZooError(f"{what} takes inputs [{', '.join(map(str, shown))}]; --data {data} holds {list(holds)}: pass "
                       "a model trained on that data")


def _first_line(error):
    return f"{type(error).__name__}: " + (str(error).strip().splitlines() or [""])[0][:300]


__all__ = ["get", "model_class", "names", "load", "card", "load_saved_model", "load_artifact", "endpoint_input_shape",
           "require_input_shape"]
