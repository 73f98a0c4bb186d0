"""Every committed artifact: small, carded, and usable from a program that imports only tensorflow."""

import json

import pytest

from tests.conftest import ROOT, run_python

ARTIFACTS = sorted(p.parent for p in (ROOT / "saved_models").glob("*/saved_model.pb"))

README_SNIPPET = """
import sys
import numpy as np
import tensorflow as tf

model = tf.saved_model.load(sys.argv[1])
images = tf.constant((np.random.default_rng(0).random((8, 28, 28, 1)) < 0.3).astype(np.float32))
code = model.encode(images)["code"]
probs = model.decode(code)["probs"]
again = model.reconstruct(images)["probs"]
np.testing.assert_allclose(probs.numpy(), again.numpy(), atol=1e-6)
assert probs.shape == (8, 28, 28, 1) and 0 <= probs.numpy().min() and probs.numpy().max() <= 1
if hasattr(model, "sample"):
    first = model.sample(tf.constant(16), tf.constant(7))["images"].numpy()
    np.testing.assert_array_equal(first, model.sample(tf.constant(16), tf.constant(7))["images"].numpy())
    assert first.shape == (16, 28, 28, 1)
print("ok", code.shape[1])
"""


# A table artifact (the card's data "kind"): raw rows of its columns in, raw units out, the score finite and higher
# for rows far from the data than for the data's own.
TABLE_SNIPPET = """
import json, sys
import numpy as np
import tensorflow as tf

model = tf.saved_model.load(sys.argv[1])
columns = json.load(open(sys.argv[1] + "/card.json"))["data"]["input_shape"][0]
rows = tf.constant(np.random.default_rng(0).normal(1.0, 0.1, (8, columns)).astype(np.float32))
code = model.encode(rows=rows)["code"]
again = model.reconstruct(rows=rows)["probs"]
np.testing.assert_allclose(model.decode(code)["probs"].numpy(), again.numpy(), rtol=1e-5, atol=1e-4)
score = model.score(rows=rows)["score"].numpy()
far = model.score(rows=rows * 10.0)["score"].numpy()
assert again.shape == (8, columns) and np.all(np.isfinite(score)) and np.all(far > score)
print("ok", code.shape[1])
"""


@pytest.mark.parametrize("artifact", ARTIFACTS, ids=[p.name for p in ARTIFACTS])
def test_artifact_is_small_and_carded(artifact):
    size = sum(f.stat().st_size for f in artifact.rglob("*") if f.is_file())
    assert size < 15_000_000, f"{artifact.name} is {size / 1e6:.1f} MB"
    card = json.loads((artifact / "card.json").read_text())
    assert card["metrics"] and all(m["command"].startswith("python -m ") for m in card["metrics"].values())
    assert card["git_commit"] != "unknown" and (artifact / "model.keras").exists()
    assert any(artifact.glob("*.png"))


OTHER_KINDS = """
import sys
import numpy as np
import tensorflow as tf

model = tf.saved_model.load(sys.argv[1])
kind, size = sys.argv[2], int(sys.argv[3])
images = tf.constant((np.random.default_rng(0).random((8, 28, 28, 1)) < 0.3).astype(np.float32))
if kind == "classifier":
    outputs = model.classify(images)
    np.testing.assert_allclose(outputs["probs"].numpy().sum(1), 1.0, rtol=1e-5)
    assert outputs["features"].shape == (8, size)
elif kind == "generator":
    first = model.sample(tf.constant(16), tf.constant(7))["images"].numpy()
    np.testing.assert_array_equal(first, model.sample(tf.constant(16), tf.constant(7))["images"].numpy())
    generated = model.generate(tf.random.normal([4, size]))["images"].numpy()
    assert first.shape == (16, 28, 28, 1) and generated.shape == (4, 28, 28, 1) and 0 <= generated.min() <= generated.max() <= 1
elif kind == "conditional":
    digits = tf.constant([0, 1, 2, 3, 4, 5, 6, 7], tf.int32)
    code = model.encode(images, digits)["code"]
    np.testing.assert_allclose(model.decode(code, digits)["probs"].numpy(),
                               model.reconstruct(images, digits)["probs"].numpy(), atol=1e-6)
    first = model.sample(tf.constant(5), tf.constant(7), tf.constant(3))["images"].numpy()
    np.testing.assert_array_equal(first, model.sample(tf.constant(5), tf.constant(7), tf.constant(3))["images"].numpy())
    assert code.shape == (8, size) and first.shape == (5, 28, 28, 1)
    one_digit = model.decode(code, tf.constant([4]))["probs"].numpy()  # one digit for every code
    np.testing.assert_allclose(one_digit, model.decode(code, tf.fill([8], 4))["probs"].numpy(), atol=1e-6)
    refused = []
    for call in (lambda: model.reconstruct(images, tf.constant([0, 1, 2, 3, 4, 5, 6, 11])),
                 lambda: model.signatures["serving_default"](images=images, digits=tf.constant([-1] * 8)),
                 lambda: model.encode(images, tf.constant([1, 2])),
                 lambda: model.decode(code, tf.constant([1, 2]))):
        try:
            call()
        except tf.errors.InvalidArgumentError as error:
            refused.append("digits must" in error.message)
    assert refused == [True] * 4, refused
print("ok", kind)
"""


def kind_of(card):
    if card.get("data", {}).get("kind") == "table":
        return "table", card["model_config"]["latent_dim"]
    if "classify" in card["endpoints"]:
        return "classifier", card["model_config"]["feature_units"]
    if "generate" in card["endpoints"]:
        return "generator", card["model_config"]["latent_dim"]
    if card["model"] == "cvae":
        return "conditional", card["model_config"]["latent_dim"]
    return "autoencoder", card.get("code", {}).get("size", card["model_config"]["latent_dim"])


ALL_IN_ONE_PROCESS = """
import contextlib, io, json, sys, traceback
snippets = {"autoencoder": sys.argv[1], "other": sys.argv[2], "table": sys.argv[4]}
results = {}
for artifact, kind, size in json.loads(sys.argv[3]):
    sys.argv = ["snippet", artifact, kind, str(size)]
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            exec(snippets[kind if kind in snippets else "other"], {"__name__": "snippet"})
        results[artifact] = printed.getvalue().split()
    except BaseException:
        results[artifact] = traceback.format_exc()[-3000:]
print(json.dumps({"results": results, "project_code_imported": any(m == "zoo" or m.startswith("zoo.") for m in sys.modules)}))
"""


@pytest.fixture(scope="module")
def plain_tensorflow_runs():
    """{artifact dir: "ran" or the traceback}: every artifact's snippet, run in one process that imports only
    tensorflow and numpy (one process for all: each would spend most of its time importing TensorFlow)."""
    jobs = []
    for artifact in ARTIFACTS:
        kind, size = kind_of(json.loads((artifact / "card.json").read_text()))
        jobs.append((str(artifact), kind, size))
    result = run_python(["-c", ALL_IN_ONE_PROCESS, README_SNIPPET, OTHER_KINDS, json.dumps(jobs), TABLE_SNIPPET])
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert not outcome["project_code_imported"]
    return outcome["results"]


@pytest.mark.parametrize("artifact", ARTIFACTS, ids=[p.name for p in ARTIFACTS])
def test_artifact_runs_in_plain_tensorflow(artifact, plain_tensorflow_runs):
    """Autoencoders run the README's snippet; the classifier, generators, the CVAE and table models their own
    endpoints."""
    kind, size = kind_of(json.loads((artifact / "card.json").read_text()))
    assert plain_tensorflow_runs[str(artifact)] == ["ok", str(size) if kind in ("autoencoder", "table") else kind], \
        plain_tensorflow_runs[str(artifact)]


def test_artifact_table_matches_the_cards():
    from benchmarks.artifact_table import table

    assert table() in (ROOT / "docs" / "artifacts.md").read_text(), \
        "docs/artifacts.md is stale: run `python -m benchmarks.tables`"


# artifact -> the bar its test NLL must meet (nats): the course's VAE, and the flagship with two stochastic layers.
FLAGSHIP_BARS = {"vae_mnist": 87.0, "two_layer_vae_mnist": 85.0}


@pytest.mark.slow  # 500 test digits x 1000 importance samples: about a minute per flagship on 2 cores
@pytest.mark.parametrize("artifact", FLAGSHIP_BARS)
def test_flagship_vae_meets_its_bar(mnist_dir, artifact):
    """Recomputes the flagship's test NLL from the artifact on the first 500 binarized test digits (k = 1000),
    rather than re-reading the card. A subset's mean differs from the full set's by about its standard error
    (the per-image NLL's spread / sqrt(500)), and k = 1000 is a looser bound than the card's k = 5000 by a few
    tenths of a nat: so the bar is the artifact's bar plus three standard errors, and the card's number must lie
    within three standard errors plus 0.5 nat of it."""
    import numpy as np

    import zoo
    from zoo import data, metrics

    card = flagship_card(artifact)
    model = zoo.load(ROOT / "saved_models" / artifact / "model.keras")
    images = data.mnist(100, "dynamic", mnist_dir).test_images[:500]
    nll = -metrics.per_image_log_likelihood(model, images, 1000, progress=False)
    standard_error = nll.std(ddof=1) / np.sqrt(len(nll))
    assert nll.mean() <= FLAGSHIP_BARS[artifact] + 3 * standard_error
    assert abs(nll.mean() - card["metrics"]["test_nll_nats"]["value"]) <= 3 * standard_error + 0.5


def flagship_card(artifact):
    card = json.loads((ROOT / "saved_models" / artifact / "card.json").read_text())
    assert card["data"]["training_binarization"] == "dynamic" and card["data"]["train_limit"] == "all 60000 training images"
    return card


@pytest.mark.parametrize("artifact", FLAGSHIP_BARS)
def test_flagship_vae_card_meets_its_bar(artifact):
    """The fast half of the check above (which recomputes the number, behind `slow`): the card's k = 5000 NLL meets
    the bar, lies below the ELBO's bound, and was measured on every test image."""
    metrics = flagship_card(artifact)["metrics"]
    assert metrics["nll_importance_samples"]["value"] == 5000
    assert metrics["test_nll_nats"]["value"] <= FLAGSHIP_BARS[artifact]
    assert metrics["test_nll_nats"]["value"] < -metrics["test_elbo_nats"]["value"]


SCORES = """
import json, sys
import numpy as np
import tensorflow as tf

noise = tf.constant(np.random.default_rng(0).random((8, 28, 28, 1)).astype(np.float32))
scores = {}
for artifact in sys.argv[1:]:
    model = tf.saved_model.load(artifact)
    scores[artifact] = {"noise": model.score(noise)["score"].numpy().tolist(),
                        "threshold": json.load(open(artifact + "/card.json"))["anomaly"]["threshold"]}
print(json.dumps(scores))
"""


def is_table(card):
    return card.get("data", {}).get("kind") == "table"


def scored(card):
    """Whether the artifact is an image autoencoder with a score (a table's are tested by TABLE_SNIPPET)."""
    return "encode" in card["endpoints"] and card["model"] != "cvae" and not is_table(card)


@pytest.fixture(scope="module")
def noise_scores():
    """{artifact dir: {"noise": scores of 8 uniform-noise images, "threshold": the card's}}, from one plain-TF process."""
    artifacts = [str(a) for a in ARTIFACTS if scored(json.loads((a / "card.json").read_text()))]
    result = run_python(["-c", SCORES, *artifacts])
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("artifact", ARTIFACTS, ids=[p.name for p in ARTIFACTS])
def test_autoencoder_artifacts_flag_noise_as_anomalous(artifact, noise_scores):
    card = json.loads((artifact / "card.json").read_text())
    if is_table(card):  # its threshold is set on held-out training rows of the normal class
        assert "training split" in card["anomaly"]["held_out_data"] and "test" not in card["anomaly"]["held_out_data"]
        return
    if not scored(card):
        assert "anomaly" not in card
        return
    assert "score" in card["endpoints"] and card["anomaly"]["target_false_positive_rate"] == 0.01
    assert "training images" in card["anomaly"]["held_out_data"] and "test" not in card["anomaly"]["held_out_data"]
    scores = noise_scores[str(artifact)]
    assert min(scores["noise"]) > scores["threshold"]  # uniform noise is no digit
