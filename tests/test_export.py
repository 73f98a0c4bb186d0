import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.conftest import run_python
from zoo import export

RELOAD = """
import json, sys
import numpy as np
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
images = tf.constant(np.load(sys.argv[2]))
out = {
    "code": loaded.encode(images)["code"].numpy(),
    "stddev": loaded.encode(images)["stddev"].numpy(),
    "probs": loaded.decode(loaded.encode(images)["code"])["probs"].numpy(),
    "reconstruct": loaded.reconstruct(images)["probs"].numpy(),
    "serving": loaded.signatures["serving_default"](images=images)["probs"].numpy(),
    "sample": loaded.sample(tf.constant(4), tf.constant(9))["images"].numpy(),
    "sample_again": loaded.sample(tf.constant(4), tf.constant(9))["images"].numpy(),
}
errors = {}
for name, bad in {"above": images + 2.0, "below": images - 2.0, "nan": images * np.nan}.items():
    try:
        loaded.reconstruct(bad)
    except tf.errors.InvalidArgumentError as error:
        errors[name] = error.message
try:
    loaded.reconstruct(tf.zeros([2, 28, 28]))
except (TypeError, ValueError) as error:
    errors["shape"] = str(error)
np.savez(sys.argv[3], **out)
# tensorflow itself pulls in parts of keras; neither this project nor TFP may be needed.
json.dump({"errors": errors, "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("zoo", "tensorflow_probability"))}, open(sys.argv[4], "w"))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    model = zoo.get("vae", latent_dim=4, hidden_units=(32,), seed=1)
    export.export(model, root / "vae", {"model": "vae", "metrics": {}})
    return model, root


def test_export_reloads_in_plain_tensorflow(exported, tmp_path):
    model, root = exported
    images = (np.random.default_rng(0).random((5, 28, 28, 1)) < 0.3).astype(np.float32)
    np.save(tmp_path / "images.npy", images)
    script = tmp_path / "reload.py"
    script.write_text(RELOAD)
    result = run_python([str(script), str(root / "vae"), str(tmp_path / "images.npy"),
                         str(tmp_path / "out.npz"), str(tmp_path / "report.json")])
    assert result.returncode == 0, result.stderr[-3000:]
    out = np.load(tmp_path / "out.npz")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["modules"] == []
    live = tf.constant(images)
    np.testing.assert_allclose(out["code"], model.encode(live).numpy(), atol=1e-6)
    np.testing.assert_allclose(out["stddev"], model.encode_outputs(live)["stddev"].numpy(), atol=1e-6)
    np.testing.assert_allclose(out["reconstruct"], model(live).numpy(), atol=1e-6)
    np.testing.assert_allclose(out["serving"], out["reconstruct"])
    np.testing.assert_allclose(out["probs"], out["reconstruct"], atol=1e-6)
    expected_samples = model.sample(4, tf.constant([9, 0], tf.int64)).numpy()
    np.testing.assert_allclose(out["sample"], expected_samples, atol=1e-6)
    np.testing.assert_array_equal(out["sample"], out["sample_again"])
    errors = report["errors"]
    assert "images must be in [0, 1]; found a value above 1" in errors["above"]
    assert "images must be in [0, 1]; found a value below 0" in errors["below"]
    assert "images must be finite" in errors["nan"]
    assert "(None, 28, 28, 1)" in errors["shape"]


def test_artifact_files(exported):
    _, root = exported
    names = {p.name for p in (root / "vae").iterdir()}
    assert {"saved_model.pb", "variables", "model.keras", "card.json"} <= names
    reloaded = zoo.load(root / "vae" / "model.keras")
    assert getattr(reloaded, "optimizer", None) is None


def test_interrupted_export_keeps_the_old_artifact(exported):
    model, root = exported
    before = (root / "vae" / "card.json").read_text()
    with pytest.raises(FileNotFoundError):
        export.export(model, root / "vae", {"model": "changed"}, figures=[root / "missing.png"])
    assert (root / "vae" / "card.json").read_text() == before
    # no staging directory left behind (the export dir's lock file stays, empty of meaning once its holder ends)
    assert sorted(p.name for p in root.iterdir() if p.suffix != ".lock") == ["vae"]
    assert tf.saved_model.load(str(root / "vae")).reconstruct is not None


def test_refresh_keeps_the_weights_and_sets_the_threshold_on_training_images(mnist_dir, tmp_path):
    from zoo import pipeline

    model = zoo.get("ae", latent_dim=4, hidden_units=(16,), seed=2)
    card = {"model": "ae", "flags": {"binarization": "none", "seed": 0, "validation_size": 0, "train_limit": 2000},
            "metrics": {"test_bce_nats": {"value": 1.0, "command": "python -m recipes.ae_mnist"}}}
    export.export(model, tmp_path / "ae", card)
    pipeline.refresh(tmp_path / "ae", mnist_dir)
    refreshed = json.loads((tmp_path / "ae" / "card.json").read_text())
    assert refreshed["metrics"] == card["metrics"] and refreshed["reexports"][-1]["weights"].startswith("unchanged")
    assert refreshed["anomaly"]["held_out_images"] == 2000
    assert refreshed["latent"]["code_size"] == 4 and np.shape(refreshed["latent"]["directions"]) == (2, 4)
    assert "training images" in refreshed["anomaly"]["held_out_data"] and "test" not in refreshed["anomaly"]["held_out_data"]
    reloaded = zoo.load(tmp_path / "ae" / "model.keras")
    for mine, theirs in zip(model.get_weights(), reloaded.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    assert (tmp_path / "ae" / "reconstructions.png").exists() and (tmp_path / "ae" / "latent_space.png").exists()


def test_the_card_holds_the_latent_directions_of_an_images_to_code_model_only(mnist_dir):
    from zoo import latent, pipeline
    from zoo.config import TrainConfig

    from zoo import data

    autoencoder = zoo.get("ae", latent_dim=3, hidden_units=(16,), seed=3)
    dataset = data.mnist(100, "dynamic", mnist_dir)
    card = pipeline.card(autoencoder, TrainConfig(model="ae", data_dir=mnist_dir), {}, dataset, "a command")
    entry = card["latent"]
    assert entry["images"] == latent.LATENT_IMAGES and entry["code_size"] == 3
    directions = np.asarray(entry["directions"])
    np.testing.assert_allclose(directions @ directions.T, np.eye(2), atol=1e-5)  # principal directions: orthonormal
    assert entry["scales"][0] >= entry["scales"][1] > 0
    codes = autoencoder.encode(tf.constant(latent.test_images(mnist_dir))).numpy()
    np.testing.assert_allclose(entry["mean"], codes.mean(axis=0), rtol=1e-4, atol=1e-5)
    for model in (zoo.get("gan", latent_dim=8, seed=3), zoo.get("cvae", latent_dim=3, hidden_units=(16,), seed=3)):
        assert "latent" not in pipeline.card(model, TrainConfig(data_dir=mnist_dir), {}, dataset, "a command")


def test_adding_the_latent_entry_to_a_card_touches_no_other_file(mnist_dir, tmp_path):
    import shutil

    from zoo import latent

    artifact = shutil.copytree(Path(__file__).parent.parent / "saved_models" / "linear_ae_mnist", tmp_path / "linear")
    committed = json.loads((artifact / "card.json").read_text())
    exported = committed.pop("latent")
    (artifact / "card.json").write_text(json.dumps(committed))
    before = {path: path.read_bytes() for path in artifact.rglob("*") if path.is_file() and path.name != "card.json"}
    entry = latent.add_to_card(artifact, mnist_dir)
    card = json.loads((artifact / "card.json").read_text())
    assert card == {**committed, "latent": entry} and entry["code_size"] == 32
    for key in ("mean", "directions", "scales"):  # what the committed card holds is reproduced
        np.testing.assert_allclose(entry[key], exported[key], rtol=1e-4, atol=1e-6)
    assert {path: path.read_bytes() for path in artifact.rglob("*") if path.is_file() and path.name != "card.json"} == before
    assert [path.name for path in artifact.iterdir() if path.name.startswith(".")] == []
