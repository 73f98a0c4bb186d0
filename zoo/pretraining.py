"""Greedy layer-wise pretraining with stacked denoising autoencoders (Vincent et al., 2010).

Each layer is a `denoising_ae` with one sigmoid code layer, trained to reconstruct the previous
layer's code (the pixels, for the first) from a masked copy of it. Its encoder then initializes the
matching hidden layer of an `mlp_classifier`, which is fine-tuned end to end with labels.
"""

import keras
import numpy as np

import zoo
from zoo import training
from zoo.batching import apply_in_batches


def pretrain_stack(images, hidden_units, noise_level=0.25, epochs=10, batch_size=100, learning_rate=1e-3, seed=0,
                   verbose=0):
    """Trains one denoising autoencoder per hidden layer, each on the codes of the one below; returns them."""
    inputs = np.asarray(images, np.float32).reshape(len(images), -1)
    stack = []
    for depth, units in enumerate(hidden_units):
        keras.utils.set_random_seed(seed + depth)  # the layer's initial weights (it builds here)
        layer = zoo.get("denoising_ae", image_shape=(inputs.shape[1],), latent_dim=units, hidden_units=(),
                        code_activation="sigmoid", corruption="masking", noise_level=noise_level, seed=seed + depth)
        history = training.train_arrays(layer, inputs, epochs, batch_size, learning_rate, seed + depth, verbose)
        print(f"pretrained layer {depth + 1} ({inputs.shape[1]} -> {units}): reconstruction "
              f"{history.history['reconstruction'][-1]:.2f} nats", flush=True)
        stack.append(layer)
        inputs = apply_in_batches(layer.encode, inputs, 1000, np.float32)
    return stack


def classifier_from_stack(stack, seed=0, num_classes=10, **kwargs):
    """An `mlp_classifier` whose hidden layers hold the stack's encoder weights (its output layer is new); `kwargs`
    are its other arguments (e.g. dropout)."""
    classifier = zoo.get("mlp_classifier", hidden_units=[layer.latent_dim for layer in stack], seed=seed,
                         num_classes=num_classes, **kwargs)
    for hidden, layer in zip(classifier.hidden_layers(), stack):
        (dense,) = [sub for sub in layer.encoder.layers if hasattr(sub, "kernel")]
        hidden.set_weights(dense.get_weights())
    return classifier


def labelled_subset(labels, budget, seed, num_classes=10):
    """Indices of `budget` training images, as balanced over the classes as the budget allows, for a seed."""
    rng = np.random.default_rng(seed)
    if budget >= len(labels):
        return np.arange(len(labels))
    per_class = [budget // num_classes + (c < budget % num_classes) for c in range(num_classes)]
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), n, replace=False)
                                   for c, n in enumerate(per_class)]))
