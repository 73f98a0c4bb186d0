"""Greedy layer-wise pretraining with stacked denoising autoencoders (Vincent et al., 2010).

Each layer is a `denoising_ae` with one sigmoid code layer, trained to reconstruct the previous
layer's code (the pixels, for the first) from a masked copy of it. Its encoder then initializes the
matching hidden layer of an `mlp_classifier`, which is fine-tuned end to end with labels.
"""

import hashlib
import json
from pathlib import Path

import keras
import numpy as np

import zoo
from zoo import training
from zoo.batching import apply_in_batches
from zoo.errors import DataError, in_one_line
from zoo.files import atomic_write_text, present, read_json, replaced_atomically, settings_mismatch


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


def stored_stack(directory, images, hidden_units, noise_level=0.25, epochs=10, batch_size=100, learning_rate=1e-3,
                 seed=0, verbose=0):
    """`pretrain_stack(images, ...)`, kept in <directory>/<key>/ (layer1.keras, ..., then stack.json) and reused by a
    later call with the same arguments: the key is a hash of every argument that determines the stack, the images'
    bytes among them. A kept stack is checked before it is reused (`stack_fault`); one of other settings or a damaged
    one is pretrained again, with a line saying why."""
    images = np.asarray(images, np.float32)
    settings = {"images": hashlib.sha256(images.tobytes()).hexdigest()[:16], "image_count": len(images),
                "hidden_units": [int(units) for units in hidden_units], "noise_level": float(noise_level),
                "epochs": epochs, "batch_size": batch_size, "learning_rate": float(learning_rate), "seed": seed}
    where = Path(directory) / hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    if present(where / "stack.json"):
        stack, why = stack_fault(where, settings, images.reshape(len(images), -1).shape[1])
        if not why:
            print(f"reusing the pretrained stack in {where}", flush=True)
            return stack
        print(f"the pretrained stack in {where} is not reused ({why}): pretraining again", flush=True)
    stack = pretrain_stack(images, hidden_units, noise_level, epochs, batch_size, learning_rate, seed, verbose)
    where.mkdir(parents=True, exist_ok=True)
    for depth, layer in enumerate(stack):
        with replaced_atomically(where / f"layer{depth + 1}.keras", "the stack is pretrained again next time") as tmp:
            layer.save(tmp)
    atomic_write_text(where / "stack.json", json.dumps({"settings": settings}, indent=1))  # last: the stack is whole
    return stack


def stack_fault(where, settings, input_size):
    """(the stack kept in `where`, None) if it is one `stored_stack` wrote with `settings`, else (None, why not):
    stack.json must name the same settings, and each layer load as a masking denoising_ae of the next width over the
    previous one's, with finite weights."""
    try:
        saved = read_json(where / "stack.json")
    except ValueError as error:
        return None, f"stack.json: {error}"
    mismatch = settings_mismatch(saved.get("settings", {}) if isinstance(saved, dict) else {}, settings)
    if mismatch:
        return None, f"other settings {mismatch}"
    stack = []
    for depth, units in enumerate(settings["hidden_units"]):
        path = where / f"layer{depth + 1}.keras"
        try:
            layer = zoo.load(path)
        except Exception as error:  # a missing, truncated or foreign file: whatever Keras, zipfile or h5py raise
            return None, f"{path.name} cannot be loaded: {in_one_line(error, 120)}"
        expected = ("denoising_ae", (input_size,), units, "masking", settings["noise_level"])
        found = tuple(getattr(layer, name, None) for name in ("registry_name", "image_shape", "latent_dim",
                                                             "corruption", "noise_level"))
        if found != expected or not all(np.isfinite(w).all() for w in layer.get_weights()):
            return None, f"{path.name} is not the layer pretrained with these settings"
        stack.append(layer)
        input_size = units
    return stack, None


def classifier_from_stack(stack, num_classes, seed=0, **kwargs):
    """An `mlp_classifier` of `num_classes` classes whose hidden layers hold the stack's encoder weights (its output
    layer is new); `kwargs` are its other arguments (e.g. dropout, image_shape)."""
    classifier = zoo.get("mlp_classifier", hidden_units=[layer.latent_dim for layer in stack], seed=seed,
                         num_classes=num_classes, **kwargs)
    for hidden, layer in zip(classifier.hidden_layers(), stack):
        (dense,) = [sub for sub in layer.encoder.layers if hasattr(sub, "kernel")]
        hidden.set_weights(dense.get_weights())
    return classifier


def labelled_subset(labels, budget, seed, num_classes=None):
    """Indices of `budget` training images, as balanced over the classes 0..num_classes - 1 (default: up to the
    largest label) as the budget allows, for a seed; every index if the budget is not below the labels. A DataError
    if a class has fewer images than its share."""
    rng = np.random.default_rng(seed)
    if budget >= len(labels):
        return np.arange(len(labels))
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    per_class = [budget // num_classes + (c < budget % num_classes) for c in range(num_classes)]
    counts = np.bincount(labels, minlength=num_classes)
    short = [c for c, n in enumerate(per_class) if counts[c] < n]
    if short:
        raise DataError(f"a budget of {budget} labels takes {per_class[short[0]]} images of class {short[0]}, which "
                        f"has {counts[short[0]]} training images: give a smaller budget")
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), n, replace=False)
                                   for c, n in enumerate(per_class)]))
