"""Artifacts of other inputs than MNIST's 28x28x1, for the server's and the page's tests: made as a user makes them
(the recipes on scikit-learn's 8x8 digits and on a folder of 16x16 colour PNGs, one epoch each, 2-unit codes so that
no t-SNE is drawn), and a table model: a SavedModel of plain TensorFlow (no Keras) whose endpoints take rows [d]
named "rows", with a card as the recipes write a table's. About 30 s on two busy cores."""

import json
from pathlib import Path

import numpy as np

# name: what the recipe is given (the image-folder's path is filled in)
RECIPES = {
    "vae_digits": ["--data", "sklearn:digits", "--batch-size", "50"],
    # --image-size: its endpoints take images of any size, resized to 16x16 inside
    "vae_colour": ["--data", "images:{folder}", "--image-size", "16", "16", "--arch", "mlp", "--batch-size", "24"],
}
SMALL = ["--epochs", "1", "--eval-samples", "2", "--xla", "off", "--latent-dim", "2", "--hidden-units", "64"]
COLOURS = [(230, 40, 40), (40, 190, 60), (50, 80, 240)]
COLUMNS = ["radius", "texture", "perimeter", "area", "smoothness"]
TABLE_MEAN = [14.1, 19.3, 92.0, 655.0, 0.096]
TABLE_SCALE = [3.5, 4.3, 24.3, 352.0, 0.014]
TABLE_THRESHOLD = 11.07  # the squared distance's 95th percentile for normal rows (chi-square, 5 degrees of freedom)
NAMES = sorted([*RECIPES, "table_rows"])


def colour_folder(folder, per_class=60, side=16, seed=0):
    """An image folder of `per_class` side x side RGB PNGs in each of three class subfolders: a square of the
    class's colour at a random place on a noisy black ground."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for label, colour in enumerate(COLOURS):
        (folder / f"class{label}").mkdir(parents=True)
        for index in range(per_class):
            image = rng.integers(0, 30, (side, side, 3))
            x, y = rng.integers(0, side // 2, 2)
            image[y:y + side // 2, x:x + side // 2] += colour
            Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(folder / f"class{label}" / f"{index}.png")
    return folder


def table_artifact(path):
    """A table model's artifact in `path`: score(rows) (the squared standardized distance from the training rows'
    mean), reconstruct(rows) and sample(num, seed) -> {"rows"}, each row [len(COLUMNS)], with its card."""
    import tensorflow as tf

    width = len(COLUMNS)
    rows_spec = tf.TensorSpec([None, width], tf.float32, name="rows")

    class TableModel(tf.Module):
        def __init__(self):
            super().__init__()
            self.mean = tf.constant(TABLE_MEAN, tf.float32)
            self.scale = tf.constant(TABLE_SCALE, tf.float32)

        def checked(self, rows):
            return tf.debugging.assert_all_finite(rows, "rows must be finite (no NaN or Inf)")

        @tf.function(input_signature=[rows_spec])
        def score(self, rows):
            return {"score": tf.reduce_sum(tf.square((self.checked(rows) - self.mean) / self.scale), axis=-1)}

        @tf.function(input_signature=[rows_spec])
        def reconstruct(self, rows):
            return {"probs": self.mean + 0.5 * (self.checked(rows) - self.mean)}

        @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="num"), tf.TensorSpec([], tf.int32, name="seed")])
        def sample(self, num, seed):
            seed_pair = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
            return {"rows": self.mean + self.scale * tf.random.stateless_normal([num, width], seed_pair)}

    module = TableModel()
    tf.saved_model.save(module, str(path), signatures={
        "score": module.score, "reconstruct": module.reconstruct, "sample": module.sample,
        "serving_default": module.reconstruct})
    card = {
        "model": "table_ae", "description": "A table model of plain TensorFlow, for the server's tests.",
        "data": {"dataset": "csv:cells.csv", "source": "a CSV file", "kind": "table", "input_shape": [width],
                 "preprocessing": f"the endpoints take raw rows of {width} columns and standardise them with the "
                                  "mean and scale of the training rows (held in the model)",
                 "columns": COLUMNS},
        "metrics": {"test_squared_error": {"value": 5.0, "command": "tests/own_data.py"}},
        "endpoints": ["reconstruct", "sample", "score"],
        "anomaly": {"endpoint": "score", "score": "squared standardized distance from the mean row",
                    "threshold": TABLE_THRESHOLD, "target_false_positive_rate": 0.05},
    }
    (path / "card.json").write_text(json.dumps(card, indent=1))
    return path


def make_models(root):
    """A models directory under `root` holding every artifact of NAMES; returns its path."""
    from recipes import vae_mnist

    root = Path(root)
    folder = colour_folder(root / "colour")
    models = root / "models"
    for name, args in RECIPES.items():
        vae_mnist.main([*(arg.format(folder=folder) for arg in args), *SMALL, "--run-dir", str(root / "runs" / name),
                        "--export-dir", str(models / name)])
    table_artifact(models / "table_rows")
    return models
