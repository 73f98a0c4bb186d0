"""Encoder and decoder builders shared by every model, looked up by architecture name."""

import math

import keras

from zoo import config

ARCHITECTURES = {}


def architecture(name):
    """Registers the encoder and decoder builders returned by the decorated function under `name`."""

    def decorate(builders):
        ARCHITECTURES[name] = builders()
        return builders

    return decorate


def _check_arch(arch):
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown arch {arch!r}; choose from {', '.join(sorted(ARCHITECTURES))}")


def encoder(arch, image_shape, output_dim, hidden_units, name="encoder"):
    """A network mapping inputs [b, *image_shape] (images [H, W, C] or rows [d]; conv: images only) to a vector
    [b, output_dim] (linear output)."""
    _check_arch(arch)
    return ARCHITECTURES[arch]["encoder"](tuple(image_shape), output_dim, tuple(hidden_units), name)


def decoder(arch, latent_dim, image_shape, hidden_units, name="decoder"):
    """A network mapping codes [b, latent_dim] to outputs [b, *image_shape], one per pixel or feature (linear
    output)."""
    _check_arch(arch)
    return ARCHITECTURES[arch]["decoder"](latent_dim, tuple(image_shape), tuple(hidden_units), name)


@architecture("mlp")
def _mlp():
    def build_encoder(image_shape, output_dim, hidden_units, name):
        layers = [keras.Input(image_shape), keras.layers.Flatten()]
        layers += [keras.layers.Dense(units, activation="relu") for units in hidden_units]
        layers.append(keras.layers.Dense(output_dim))
        return keras.Sequential(layers, name=name)

    def build_decoder(latent_dim, image_shape, hidden_units, name):
        layers = [keras.Input((latent_dim,))]
        layers += [keras.layers.Dense(units, activation="relu") for units in reversed(hidden_units)]
        layers += [keras.layers.Dense(math.prod(image_shape)), keras.layers.Reshape(image_shape)]
        return keras.Sequential(layers, name=name)

    return {"encoder": build_encoder, "decoder": build_decoder}


def _check_conv(image_shape, hidden_units):
    problem = (config.conv_width_problem(str, "conv", hidden_units)
               or config.image_shape_problem(str, "conv", image_shape))
    if problem:
        raise ValueError(problem)


@architecture("conv")
def _conv():
    """Two stride-2 convolutions each way (28 -> 14 -> 7), then one dense layer of hidden_units[-1]: images [H, W, C]
    whose sides 4 divides."""

    def build_encoder(image_shape, output_dim, hidden_units, name):
        _check_conv(image_shape, hidden_units)
        return keras.Sequential(
            [
                keras.Input(image_shape),
                keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
                keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
                keras.layers.Flatten(),
                keras.layers.Dense(hidden_units[-1], activation="relu"),
                keras.layers.Dense(output_dim),
            ],
            name=name,
        )

    def build_decoder(latent_dim, image_shape, hidden_units, name):
        _check_conv(image_shape, hidden_units)
        height, width, channels = image_shape
        return keras.Sequential(
            [
                keras.Input((latent_dim,)),
                keras.layers.Dense(hidden_units[-1], activation="relu"),
                keras.layers.Dense(height // 4 * width // 4 * 64, activation="relu"),
                keras.layers.Reshape((height // 4, width // 4, 64)),
                keras.layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu"),
                keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
                keras.layers.Conv2D(channels, 3, padding="same"),
            ],
            name=name,
        )

    return {"encoder": build_encoder, "decoder": build_decoder}


assert set(ARCHITECTURES) == set(config.ARCHITECTURES), "zoo.config.ARCHITECTURES must name every builder"
