"""SavedModel export with the zoo's endpoint contract, plus model.keras, card.json and figures, atomically.

Endpoints (images float32 [batch, 28, 28, 1] in [0, 1]):
  encode(images) -> {"code", ...}           probabilistic encoders add "mean" and "stddev"
  decode(code) -> {"probs", ...}            Bernoulli decoders add "logits"
  reconstruct(images) -> {"probs"}          also the serving_default signature
  sample(num, seed) -> {"images"}           generative models only; stateless in (num, seed)
  generate(code) -> {"images"}              GANs (which have no encoder, so no encode/decode/reconstruct)
  classify(images) -> {"probs", "features"} the classifier (also its serving_default)
  complete(ratings) -> {"ratings"}          AutoRec: rating vectors (0 = unknown) completed, clipped to [1, 5]
  score(images) -> {"score"}                autoencoders and VAEs: anomaly score per image, higher = more
                                            unusual; the card's "anomaly" entry holds a threshold
Conditional models (the CVAE) take digits int32 [b] beside images or codes, and sample(num, seed, digit).
Out-of-range or non-finite inputs fail inside the endpoint with a message saying what is allowed.
"""

import dataclasses
import datetime
import json
import os
import platform
import shutil
import subprocess
from pathlib import Path

import keras
import tensorflow as tf


def _checked_images(images):
    images = tf.debugging.assert_all_finite(images, "images must be finite (no NaN or Inf)")
    checks = [
        tf.debugging.assert_greater_equal(images, 0.0, message="images must be in [0, 1]; found a value below 0"),
        tf.debugging.assert_less_equal(images, 1.0, message="images must be in [0, 1]; found a value above 1"),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(images)


def _checked_codes(codes):
    return tf.debugging.assert_all_finite(codes, "code must be finite (no NaN or Inf)")


def _checked_ratings(ratings):
    ratings = tf.debugging.assert_all_finite(ratings, "ratings must be finite (no NaN or Inf)")
    valid = tf.logical_or(tf.equal(ratings, 0.0), tf.logical_and(ratings >= 1.0, ratings <= 5.0))
    with tf.control_dependencies([tf.debugging.Assert(tf.reduce_all(valid), [
            "ratings must be 0 (unknown) or in [1, 5]; found", tf.boolean_mask(ratings, tf.logical_not(valid))[:5]])]):
        return tf.identity(ratings)


def endpoints(model):
    """{name: (function, input signature)} of the contract's endpoints that `model` supports."""
    if hasattr(model, "complete"):  # AutoRec: rating vectors in, every rating predicted out
        ratings_spec = tf.TensorSpec([None, model.num_inputs], tf.float32, name="ratings")

        def complete(ratings):
            return {"ratings": model.complete(_checked_ratings(ratings))}

        return {"serving_default": (complete, [ratings_spec]), "complete": (complete, [ratings_spec])}
    image_spec = tf.TensorSpec([None, *model.image_shape], tf.float32, name="images")
    code_spec = tf.TensorSpec([None, getattr(model, "latent_dim", 0)], tf.float32, name="code")
    found = {}
    if getattr(model, "conditional", False):
        return conditional_endpoints(model, image_spec, code_spec)
    if hasattr(model, "classify"):
        found["serving_default"] = found["classify"] = (lambda images: model.classify(_checked_images(images)),
                                                        [image_spec])
    if hasattr(model, "encode"):
        def reconstruct(images):
            return {"probs": model(_checked_images(images))}

        found["serving_default"] = found["reconstruct"] = (reconstruct, [image_spec])
        found["encode"] = (lambda images: model.encode_outputs(_checked_images(images)), [image_spec])
        found["decode"] = (lambda code: model.decode_outputs(_checked_codes(code)), [code_spec])
    if hasattr(model, "anomaly_score"):
        found["score"] = (lambda images: {"score": model.anomaly_score(_checked_images(images))}, [image_spec])
    if hasattr(model, "generate"):
        found["generate"] = (lambda code: {"images": model.generate(_checked_codes(code))}, [code_spec])
        found.setdefault("serving_default", found["generate"])
    if hasattr(model, "sample"):
        def sample(num, seed):
            with tf.control_dependencies([tf.debugging.assert_non_negative(num, message="num must be >= 0")]):
                return {"images": model.sample(num, _seed_pair(seed))}

        found["sample"] = (sample, [tf.TensorSpec([], tf.int32, name="num"), tf.TensorSpec([], tf.int32, name="seed")])
    return found


def _seed_pair(seed):
    return tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])


def conditional_endpoints(model, image_spec, code_spec):
    """The contract with a class label beside every input: digits int32 [b] (digit a scalar for sample)."""
    digits_spec = tf.TensorSpec([None], tf.int32, name="digits")

    def condition(digits):
        checks = [tf.debugging.assert_greater_equal(digits, 0, message="digits must be >= 0"),
                  tf.debugging.assert_less(digits, model.num_classes,
                                           message=f"digits must be < {model.num_classes}")]
        with tf.control_dependencies(checks):
            return model.condition_of(digits)

    def reconstruct(images, digits):
        return {"probs": model((_checked_images(images), digits))}

    def sample(num, seed, digit):
        checks = [tf.debugging.assert_non_negative(num, message="num must be >= 0"), condition(digit[None])]
        with tf.control_dependencies(checks):
            return {"images": model.sample(num, _seed_pair(seed), digit)}

    return {
        "serving_default": (reconstruct, [image_spec, digits_spec]),
        "reconstruct": (reconstruct, [image_spec, digits_spec]),
        "encode": (lambda images, digits: model.encode_outputs(_checked_images(images), condition(digits)),
                   [image_spec, digits_spec]),
        "decode": (lambda code, digits: model.decode_outputs(_checked_codes(code), condition(digits)),
                   [code_spec, digits_spec]),
        "sample": (sample, [tf.TensorSpec([], tf.int32, name="num"), tf.TensorSpec([], tf.int32, name="seed"),
                            tf.TensorSpec([], tf.int32, name="digit")]),
    }


def build_archive(model):
    """An ExportArchive holding the contract's endpoints for `model`."""
    # Endpoints track the variables they use; archive.track(model) would store every weight a second time.
    archive = keras.export.ExportArchive()
    for name, (function, signature) in endpoints(model).items():
        archive.add_endpoint(name, function, signature)
    return archive


def git_commit():
    try:
        root = Path(__file__).resolve().parent.parent
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def card(model, config, metrics, data_source, command):
    """The artifact's card: what it is, its data, flags, measured metrics with their command, versions."""
    import tensorflow_probability as tfp

    doc = (type(model).__doc__ or "").strip().splitlines()
    return {
        "model": model.registry_name,
        "description": doc[0] if doc else "",
        "model_config": model.constructor_config(),
        "data": {
            "dataset": "MNIST",
            "source": "MNIST IDX files" if data_source.startswith(("/", ".")) else data_source,
            "training_binarization": config.binarization,
            "test_binarization": ("binarized once with a fixed seed" if config.binarization == "dynamic"
                                  else config.binarization),
            "train_limit": config.train_limit or "all 60000 training images",
        },
        "flags": {k: v for k, v in dataclasses.asdict(config).items() if k not in ("data_dir",)},
        "command": command,
        "metrics": {name: {"value": value, "command": command} for name, value in metrics.items()},
        "parameters": int(model.count_params()),
        "endpoints": sorted(endpoints(model)),
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "tensorflow_probability": tfp.__version__},
        "git_commit": git_commit(),
        "exported": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def float32_copy(model):
    """A fresh float32 copy of `model` with its weights and no optimizer state (a third of the bytes)."""
    copy = type(model).from_config({**model.get_config(), "dtype": "float32"})
    copy.set_weights(model.get_weights())
    return copy


def export(model, export_dir, model_card, figures=()):
    """Writes the SavedModel, model.keras, card.json and figures to `export_dir`, replacing it atomically.

    Everything is written into a temporary sibling directory first, so an interrupted export leaves any
    previous artifact untouched.
    """
    export_dir = Path(export_dir)
    export_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = export_dir.parent / f".{export_dir.name}.tmp-{os.getpid()}"
    retired = export_dir.parent / f".{export_dir.name}.old-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        model = float32_copy(model)
        build_archive(model).write_out(str(staging), verbose=False)
        model.save(staging / "model.keras")
        (staging / "card.json").write_text(json.dumps(model_card, indent=1, default=str) + "\n")
        for figure in figures:
            shutil.copy(figure, staging / Path(figure).name)
        if export_dir.exists():
            os.rename(export_dir, retired)
        try:
            os.rename(staging, export_dir)
        except OSError:
            if retired.exists():
                os.rename(retired, export_dir)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(retired, ignore_errors=True)
    return export_dir


def refresh(artifact_dir, data_dir=None):
    """Re-exports a committed artifact from its model.keras with the current endpoint contract, keeping its
    card (flags, command, measured metrics) and figures, and adding an anomaly threshold where the model
    has a `score` endpoint. The weights are unchanged: nothing is retrained."""
    import zoo
    from zoo import anomaly, data

    artifact_dir = Path(artifact_dir)
    card = json.loads((artifact_dir / "card.json").read_text())
    model = zoo.load(artifact_dir / "model.keras")
    if hasattr(model, "anomaly_score") and not getattr(model, "conditional", False):
        test_images = data.mnist(100, card["flags"].get("binarization", "none"), data_dir).test_images
        card["anomaly"] = anomaly.card_entry(model, test_images, "the MNIST test split")
    card["endpoints"] = sorted(endpoints(model))
    card.setdefault("reexports", []).append({
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(), "weights": "unchanged (re-exported from model.keras, not retrained)"})
    return export(model, artifact_dir, card, sorted(artifact_dir.glob("*.png")))


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m zoo.export",
                                     description="Re-export artifacts with the current endpoint contract (see refresh).")
    parser.add_argument("--refresh", nargs="+", required=True, metavar="ARTIFACT_DIR")
    parser.add_argument("--data-dir", default=None, help="MNIST IDX directory (default: $ZOO_DATA_DIR)")
    arguments = parser.parse_args()
    for directory in arguments.refresh:
        print(f"re-exported {refresh(directory, arguments.data_dir)}")
