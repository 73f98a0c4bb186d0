"""The judges of `python -m benchmarks.artifact_behaviour` (see there): what each endpoint of a committed artifact
does, measured on real test digits with the committed classifier reading the results. tests/test_behaviour.py
holds the floors."""

from pathlib import Path

import numpy as np
import tensorflow as tf
from sklearn.metrics import roc_auc_score

import zoo
from zoo import data
from zoo.corruptions import corrupt
from zoo.errors import ZooError

JUDGE = "mnist_classifier"
IMAGES = 1000
DRAWS = 1000
SEED = 7
BATCH = 500
UNIT_RANGE_OUTPUTS = ("probs", "images", "restored")  # outputs the contract keeps in [0, 1]


class Artifact:
    """A SavedModel's signatures called by name, in batches, with every output checked (finite; images in [0, 1], a
    table's outputs in its raw units):
    a failed check is recorded in `faults`."""

    def __init__(self, path):
        self.path = Path(path)
        self.name = self.path.name
        self.card = zoo.card(self.path)
        self.loaded = zoo.load_saved_model(self.path)
        self.signatures = {name: function for name, function in self.loaded.signatures.items()
                           if name != "serving_default"}
        self.faults = []

    def inputs_of(self, signature):
        _, specs = self.signatures[signature].structured_input_signature
        return specs

    def call(self, signature, **inputs):
        """{output: numpy array} of `signature` on `inputs` (arrays or numbers); batched inputs go in BATCH rows."""
        specs = self.inputs_of(signature)
        batched = [name for name, spec in specs.items() if spec.shape.rank]
        rows = len(inputs[batched[0]]) if batched else 0
        parts = []
        for start in range(0, max(rows, 1), BATCH):
            chunk = {name: tf.constant(value[start:start + BATCH] if name in batched else value, specs[name].dtype)
                     for name, value in inputs.items()}
            parts.append({name: value.numpy() for name, value in self.signatures[signature](**chunk).items()})
        outputs = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
        for name, value in outputs.items():
            where = f"{self.name}.{signature} output {name!r}"
            if not np.all(np.isfinite(value)):
                self.faults.append(f"{where} is not finite")
            bounded = name in UNIT_RANGE_OUTPUTS and not is_table(self)  # a table's are in its columns' raw units
            if bounded and value.size and not 0 <= value.min() <= value.max() <= 1:
                self.faults.append(f"{where} leaves [0, 1]: {value.min():.4g}..{value.max():.4g}")
        return outputs

    def images_and_digits(self, images, labels, signature):
        """The inputs of a signature that takes images (and, for conditional models, each image's digit)."""
        inputs = {"images": images}
        if "digits" in self.inputs_of(signature):
            inputs["digits"] = labels
        return inputs


class Judge:
    """The committed classifier, reading the digit of each image."""

    def __init__(self, models_dir):
        path = Path(models_dir) / JUDGE
        if not (path / "saved_model.pb").is_file():
            raise ZooError(f"no classifier artifact at {path}: the endpoints are judged by it (train it with "
                           "`python -m recipes.mnist_classifier`)")
        self.artifact = Artifact(path)

    def read(self, images):
        return np.argmax(self.artifact.call("classify", images=np.asarray(images, np.float32))["probs"], axis=1)

    def agreement(self, images, labels):
        return float(np.mean(self.read(images) == labels))


def test_digits(card, data_dir=None, count=IMAGES):
    """(images [count, 28, 28, 1], labels) of the first test digits as the card's model was tested on them."""
    images, labels = data.load_mnist_arrays(data_dir)["test"]
    images, labels = images[:count], labels[:count].astype(np.int32)
    if card.get("data", {}).get("test_binarization", "none").startswith("binarized"):
        return data.binarize_once(images), labels
    return (images.astype(np.float32) / 255.0)[..., None], labels


def shares(read, classes=10):
    return np.bincount(read, minlength=classes) / len(read)


# Each judge: (artifact, judge, images, labels) -> {measure: number}. "decode" is judged with "encode".

def judge_reconstruct(artifact, judge, images, labels):
    inputs = artifact.images_and_digits(images, labels, "reconstruct")
    probs = artifact.call("reconstruct", **inputs)["probs"]
    return {"agreement": judge.agreement(probs, labels),
            "repeatable": bool(np.array_equal(probs, artifact.call("reconstruct", **inputs)["probs"]))}


def judge_encode(artifact, judge, images, labels):
    code = artifact.call("encode", **artifact.images_and_digits(images, labels, "encode"))["code"]
    inputs = {"code": code, **({"digits": labels} if "digits" in artifact.inputs_of("decode") else {})}
    return {"decode_encode_agreement": judge.agreement(artifact.call("decode", **inputs)["probs"], labels),
            "code_size": int(code.shape[1])}


def coverage(read):
    share = shares(read)
    return {"smallest_digit_share": float(share.min()), "largest_digit_share": float(share.max()),
            "digits_present": int(np.sum(share > 0))}


def judge_sample(artifact, judge, images, labels):
    conditional = "digit" in artifact.inputs_of("sample")

    def draw(num, seed, digit=3):
        return artifact.call("sample", num=num, seed=seed, **({"digit": digit} if conditional else {}))["images"]

    first = draw(16, SEED)
    seeded = {"same_seed_same_images": bool(np.array_equal(first, draw(16, SEED))),
              "other_seed_other_images": bool(not np.array_equal(first, draw(16, SEED + 1)))}
    if conditional:
        read_as_asked = [float(np.mean(judge.read(draw(DRAWS // 10, SEED, digit)) == digit)) for digit in range(10)]
        return {"asked_digit_share_min": min(read_as_asked), "asked_digit_share_mean": float(np.mean(read_as_asked)),
                **seeded}
    return {**coverage(judge.read(draw(DRAWS, SEED))), **seeded}


def judge_generate(artifact, judge, images, labels):
    (spec,) = artifact.inputs_of("generate").values()
    codes = tf.random.stateless_normal([DRAWS, spec.shape[1]], seed=[SEED, 0]).numpy()
    return coverage(judge.read(artifact.call("generate", code=codes)["images"]))


def judge_score(artifact, judge, images, labels):
    def score(batch):
        return artifact.call("score", images=batch)["score"]

    normal = score(images)
    inverted = score(1.0 - images)
    noise = score(np.random.default_rng(SEED).random(images.shape, dtype=np.float32))
    measured = {name: float(roc_auc_score(np.r_[np.zeros(len(normal)), np.ones(len(unusual))], np.r_[normal, unusual]))
                for name, unusual in (("auroc_inverted", inverted), ("auroc_noise", noise))}
    threshold = artifact.card.get("anomaly", {}).get("threshold")
    if threshold is not None:
        measured["normal_under_threshold"] = float(np.mean(normal <= threshold))
    return measured


def judge_restore(artifact, judge, images, labels):
    config = artifact.card["model_config"]
    corrupted = np.clip(corrupt(tf.constant(images), config["corruption"], config["noise_level"],
                                tf.constant([SEED, 1])).numpy(), 0.0, 1.0)
    restored = artifact.call("restore", images=corrupted)["restored"]

    def psnr(values):  # of the squared error pooled over all images (some corruptions leave an image unchanged)
        return float(10 * np.log10(1.0 / np.mean((np.asarray(values, np.float64) - images) ** 2)))

    return {"corruption": f"{config['corruption']} {config['noise_level']:g}", "psnr_corrupted": psnr(corrupted),
            "psnr_restored": psnr(restored), "agreement_restored": judge.agreement(restored, labels)}


def judge_classify(artifact, judge, images, labels):
    probs = artifact.call("classify", images=images)["probs"]
    return {"accuracy": float(np.mean(np.argmax(probs, 1) == labels)),
            "largest_probability_sum_error": float(np.max(np.abs(probs.sum(1) - 1)))}


JUDGES = {"reconstruct": judge_reconstruct, "encode": judge_encode, "decode": None, "sample": judge_sample,
          "generate": judge_generate, "score": judge_score, "restore": judge_restore, "classify": judge_classify}


# Artifacts trained on a table (the card's data "kind"): judged on the test rows of their own source, read again as the
# card's flags read it, in raw units as a program sends them.

def table_rows(card):
    """(test rows [n, d] raw, is_normal [n] or None) of a table artifact's source, read as its card's flags read it;
    the normal rows are the class it trained on (its flags' train_digits), where it trained on one."""
    from zoo import sources

    saved = card["flags"]
    arrays = sources.load(saved["data"], None, None, saved.get("label_column"), saved["test_fraction"], saved["seed"])
    classes = saved.get("train_digits") or []
    is_normal = np.isin(arrays.y_test, classes) if classes and arrays.y_test is not None else None
    return arrays.x_test, is_normal


def spread(rows, reference):
    """`rows` in units of the reference rows' standard deviation per column, around their mean."""
    return (rows - reference.mean(0)) / np.where(reference.std(0) > 0, reference.std(0), 1.0)


def judge_table_reconstruct(artifact, rows, is_normal):
    """The share of the variance of the normal test rows (per column, in units of its spread) that reconstruct
    explains, and whether it repeats."""
    normal = rows if is_normal is None else rows[is_normal]
    first = artifact.call("reconstruct", rows=normal)
    (name,) = first
    again = artifact.call("reconstruct", rows=normal)[name]
    residual = np.mean((spread(first[name], normal) - spread(normal, normal)) ** 2)
    return {"variance_explained": float(1 - residual), "repeatable": bool(np.array_equal(first[name], again))}


def judge_table_encode(artifact, rows, is_normal):
    """decode(encode(x)) against reconstruct(x): the largest difference, in units of the rows' spread."""
    codes = artifact.call("encode", rows=rows)["code"]
    decoded = artifact.call("decode", code=codes)
    name = "mean" if "mean" in decoded else next(iter(decoded))
    reconstructed = next(iter(artifact.call("reconstruct", rows=rows).values()))
    return {"decode_encode_difference": float(np.max(np.abs(spread(decoded[name], rows) - spread(reconstructed, rows))))}


def judge_table_sample(artifact, rows, is_normal):
    """Draws of 1,000 rows: the largest distance of a column's mean from the normal rows' (in their spread), and the
    seeds' promises."""
    normal = rows if is_normal is None else rows[is_normal]

    def draw(num, seed):
        return next(iter(artifact.call("sample", num=num, seed=seed).values()))

    drawn = draw(DRAWS, SEED)
    return {"largest_column_mean_offset": float(np.max(np.abs(spread(drawn, normal).mean(0)))),
            "same_seed_same_rows": bool(np.array_equal(draw(10, SEED), draw(10, SEED))),
            "other_seed_other_rows": bool(not np.array_equal(draw(10, SEED), draw(10, SEED + 1)))}


def judge_table_score(artifact, rows, is_normal):
    """AUROC of the score ranking the other classes' test rows above the normal class's, and the share of normal
    test rows at or under the card's threshold."""
    scores = artifact.call("score", rows=rows)["score"]
    measured = {}
    if is_normal is not None:
        measured["auroc_other_classes"] = float(roc_auc_score(~is_normal, scores))
    threshold = artifact.card.get("anomaly", {}).get("threshold")
    if threshold is not None:
        normal = scores if is_normal is None else scores[is_normal]
        measured["normal_under_threshold"] = float(np.mean(normal <= threshold))
    return measured


TABLE_JUDGES = {"reconstruct": judge_table_reconstruct, "encode": judge_table_encode, "decode": None,
                "sample": judge_table_sample, "score": judge_table_score}


def artifact_paths(models_dir):
    return sorted(path.parent for path in Path(models_dir).glob("*/saved_model.pb"))


def is_table(artifact):
    return artifact.card.get("data", {}).get("kind") == "table"


def judges_of(artifact):
    """The judges of the artifact's kind of data: TABLE_JUDGES for a table, JUDGES for MNIST images."""
    return TABLE_JUDGES if is_table(artifact) else JUDGES


def measure(artifact, judge, data_dir=None):
    """{endpoint: {measure: value}} of every endpoint of `artifact` that has a judge (decode with encode)."""
    if is_table(artifact):
        rows, is_normal = table_rows(artifact.card)
        return {name: TABLE_JUDGES[name](artifact, rows, is_normal)
                for name in sorted(artifact.signatures) if TABLE_JUDGES.get(name)}
    images, labels = test_digits(artifact.card, data_dir)
    return {name: JUDGES[name](artifact, judge, images, labels)
            for name in sorted(artifact.signatures) if JUDGES.get(name)}
