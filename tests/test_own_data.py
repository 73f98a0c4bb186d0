"""The user's own data end to end: a recipe trains on each kind of source (an image folder, tensorflow-datasets, an
npz of arrays, a CSV table), exports an artifact whose endpoints take that data's shape (raw rows for a table, which
the SavedModel standardises), resumes, refuses a run dir trained on other data; the tuner searches on a table; the
tabular anomaly recipe beats nothing it should not and exports a detector that scores raw rows."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, run_python

FAST = ["--xla", "off", "--precision", "float32", "--epochs", "2", "--eval-samples", "5"]


@pytest.fixture(scope="module")
def own_data(tmp_path_factory):
    """The four sources, made from data scikit-learn ships: a CSV (breast cancer, string labels), an npz and an
    image folder (the 8x8 digits, the folder's as 16x16 RGB PNGs in class subfolders)."""
    from sklearn.datasets import load_breast_cancer, load_digits

    root = tmp_path_factory.mktemp("own_data")
    cancer = load_breast_cancer()
    names = [name.replace(" ", "_") for name in cancer.feature_names]
    lines = [",".join([*names, "diagnosis"])]
    lines += [",".join([*(f"{value:.6g}" for value in row), cancer.target_names[label]])
              for row, label in zip(cancer.data, cancer.target)]
    (root / "cancer.csv").write_text("\n".join(lines) + "\n")
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]
    np.savez(root / "digits.npz", x_train=images[:1400], y_train=digits.target[:1400], x_test=images[1400:],
             y_test=digits.target[1400:])
    for index, (image, label) in enumerate(zip(digits.images[:300], digits.target[:300])):
        folder = root / "folder" / f"class_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        grey = (image * 255 / 16).astype(np.uint8)
        rgb = np.stack([grey, grey[::-1], 255 - grey], axis=-1)
        Image.fromarray(rgb).resize((16, 16)).save(folder / f"{index}.png")
    return root


def train(recipe, argv):
    import importlib

    return importlib.import_module(f"recipes.{recipe}").main(argv)


def endpoint_shapes(artifact, name, inputs):
    """{output: shape} of the artifact's endpoint `name` called with `inputs` ({input: nested list}) by a process
    that imports only TensorFlow (floats become float32, whole numbers int32)."""
    code = (f"import json, tensorflow as tf\nm = tf.saved_model.load({str(artifact)!r})\n"
            f"out = getattr(m, {name!r})(**{{k: tf.constant(v) for k, v in json.loads({json.dumps(inputs)!r}).items()}})\n"
            "print(json.dumps({k: [list(v.shape), float(tf.reduce_min(v)), float(tf.reduce_max(v))] "
            "for k, v in out.items()}))")
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_table_trains_exports_and_the_artifact_takes_raw_rows(own_data, tmp_path):
    run, art = tmp_path / "run", tmp_path / "art"
    argv = ["--data", f"csv:{own_data / 'cancer.csv'}", "--label-column", "diagnosis", "--output-activation",
            "linear", "--latent-dim", "4", "--hidden-units", "16", "--batch-size", "50", *FAST,
            "--run-dir", str(run), "--export-dir", str(art)]
    measured = train("ae_mnist", argv)
    assert np.isfinite(measured["test_squared_error"])
    card = json.loads((art / "card.json").read_text())
    assert card["data"]["kind"] == "table" and card["data"]["input_shape"] == [30]
    assert card["data"]["class_names"] == ["benign", "malignant"] and len(card["data"]["columns"]) == 30
    assert card["model_config"]["standardize"] is True and "standardise" in card["data"]["preprocessing"]
    rows = np.loadtxt(own_data / "cancer.csv", delimiter=",", skiprows=1, usecols=range(30), max_rows=8)
    shapes = endpoint_shapes(art, "reconstruct", {"rows": rows.tolist()})
    (shape, low, high), = shapes.values()
    assert shape == [8, 30]
    assert high > 100  # raw units: the areas of the rows are in the hundreds, standardised values near 0
    score = endpoint_shapes(art, "score", {"rows": rows.tolist()})["score"]
    assert score[0] == [8] and score[1] >= 0
    # The same command resumes the finished run; the run dir refuses the same flags on changed data.
    assert train("ae_mnist", argv[:-2] + ["--export-dir", ""])["epochs"] == 2
    changed = own_data / "cancer_changed.csv"
    changed.write_text((own_data / "cancer.csv").read_text().replace("17.99", "18.99", 1))
    with pytest.raises(Exception, match="other settings"):
        train("ae_mnist", [*argv[:1], f"csv:{changed}", *argv[2:-2], "--export-dir", ""])


def test_a_gaussian_vae_on_a_table_by_default(own_data, tmp_path):
    measured = train("vae_mnist", ["--data", f"csv:{own_data / 'cancer.csv'}", "--label-column", "diagnosis",
                                   "--latent-dim", "4", "--hidden-units", "32", "--batch-size", "50", *FAST,
                                   "--run-dir", str(tmp_path / "run"), "--export-dir", str(tmp_path / "art")])
    card = json.loads((tmp_path / "art" / "card.json").read_text())
    assert card["model_config"]["likelihood"] == "gaussian" and card["model_config"]["standardize"] is True
    assert np.isfinite(measured["test_nll_nats"])
    (shape, low, high), = endpoint_shapes(tmp_path / "art", "sample", {"num": 5, "seed": 1}).values()
    assert shape == [5, 30] and high > 100  # rows in raw units


def test_npz_images_and_an_image_folder_train_and_export_at_their_shape(own_data, tmp_path):
    for spec, shape in ((f"arrays:{own_data / 'digits.npz'}", [8, 8, 1]), (f"images:{own_data / 'folder'}",
                                                                          [16, 16, 3])):
        art = tmp_path / spec.split(":")[0]
        train("vae_mnist", ["--data", spec, "--latent-dim", "4", "--hidden-units", "32", "--batch-size", "20",
                            *FAST, "--run-dir", str(tmp_path / f"run_{art.name}"), "--export-dir", str(art)])
        card = json.loads((art / "card.json").read_text())
        assert card["data"]["input_shape"] == shape and card["model_config"]["likelihood"] == "bernoulli"
        assert "resize_inputs" not in card["model_config"] and "at this size" in card["data"]["preprocessing"]
        images = np.full([3, *shape], 0.5).tolist()
        (out_shape, low, high), = endpoint_shapes(art, "reconstruct", {"images": images}).values()
        assert out_shape == [3, *shape] and 0 <= low <= high <= 1
        assert sorted(path.name for path in art.glob("*.png"))  # its figures, drawn at its size


# Run by a process that imports only TensorFlow: every signature taking images called on `larger` and on `resized`
# (the maximum difference of their answers), on an empty batch of another size, and on images of one channel.
RESIZED_SIGNATURES = """
import json, sys, tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
larger, resized = (tf.constant(json.load(open(path))) for path in sys.argv[2:4])
found = {}
for name, function in model.signatures.items():
    specs = function.structured_input_signature[1]
    if "images" not in specs:
        continue
    def call(images):
        return function(images=images, **({"digits": tf.zeros([images.shape[0]], tf.int32)} if "digits" in specs else {}))
    big, small = call(larger), call(resized)
    empty = call(tf.zeros([0, 7, 5, 3]))
    try:
        call(tf.zeros([2, 12, 10, 1]))
        refusal = None
    except tf.errors.InvalidArgumentError as error:
        refusal = error.message.splitlines()[0]
    found[name] = {"spec": specs["images"].shape.as_list(), "shapes": {k: v.shape.as_list() for k, v in big.items()},
                   "difference": max(float(tf.reduce_max(tf.abs(big[k] - small[k]))) for k in big),
                   "empty": sorted({v.shape[0] for v in empty.values()}), "refusal": refusal}
print(json.dumps(found))
"""


def test_an_artifact_of_resized_images_takes_images_of_any_size(own_data, tmp_path):
    """Trained on images resized to one size (--image-size), the artifact's endpoints take images of any size and
    resize them inside as the pipeline resized the training images; a wrong channel count names the shape taken."""
    from zoo import sources

    art = tmp_path / "art"
    train("ae_mnist", ["--data", f"images:{own_data / 'folder'}", "--image-size", "12", "10", "--latent-dim", "4",
                       "--hidden-units", "16", "--batch-size", "20", *FAST, "--run-dir", str(tmp_path / "run"),
                       "--export-dir", str(art)])
    card = json.loads((art / "card.json").read_text())
    assert card["data"]["input_shape"] == [12, 10, 3] and card["model_config"]["resize_inputs"] is True
    assert "resize them to 12x10 (bilinear) inside" in card["data"]["preprocessing"]
    larger = np.random.default_rng(0).random((3, 21, 34, 3)).astype(np.float32)  # larger, not square
    for name, images in (("larger", larger), ("resized", sources.resized(larger, (12, 10)))):
        (tmp_path / f"{name}.json").write_text(json.dumps(images.tolist()))
    result = run_python(["-c", RESIZED_SIGNATURES, str(art), *(str(tmp_path / f"{name}.json")
                                                               for name in ("larger", "resized"))])
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(found) == {"encode", "reconstruct", "score", "serving_default"}
    for name, answers in found.items():
        assert answers["spec"] == [None, None, None, 3], name
        assert answers["difference"] <= 1e-5, (name, answers)
        assert all(shape[0] == 3 for shape in answers["shapes"].values()) and answers["empty"] == [0], answers
        assert "[2,12,10,1] is not compatible with expected shape [?,?,?,3]" in answers["refusal"], answers
    assert found["reconstruct"]["shapes"]["probs"] == [3, 12, 10, 3]


def mock_tfds_mnist(data_dir, examples=60):
    """tensorflow-datasets' mock of "mnist" under `data_dir` (offline, no download): its metadata written for the
    mock to read, then `tfds.testing.mock_data`'s context."""
    import tensorflow_datasets as tfds

    builder = tfds.builder("mnist", data_dir=str(data_dir))
    builder.info.set_splits(tfds.core.SplitDict([tfds.core.SplitInfo(name=split, shard_lengths=[examples], num_bytes=0)
                                                 for split in ("train", "test")]))
    os.makedirs(builder.data_dir, exist_ok=True)
    builder.info.write_to_directory(builder.data_dir)
    return tfds.testing.mock_data(num_examples=examples, data_dir=str(data_dir))


def test_tensorflow_datasets_by_name(tmp_path):
    with mock_tfds_mnist(tmp_path):
        measured = train("ae_mnist", ["--data", "tfds:mnist", "--latent-dim", "4", "--hidden-units", "16",
                                      "--batch-size", "20", *FAST, "--run-dir", str(tmp_path / "run"),
                                      "--export-dir", str(tmp_path / "art")])
    card = json.loads((tmp_path / "art" / "card.json").read_text())
    assert card["data"]["dataset"] == "tfds:mnist" and card["data"]["input_shape"] == [28, 28, 1]
    assert np.isfinite(measured["test_bce_nats"])
    images = np.random.default_rng(0).random((3, 28, 28, 1)).tolist()
    assert endpoint_shapes(tmp_path / "art", "score", {"images": images})["score"][0] == [3]


# Each source the tuner searches on: its --data flags (given the own_data folder and tmp_path) and the data's kind.
TUNED_SOURCES = {
    "csv": (lambda root, tmp: ["--data", f"csv:{root / 'cancer.csv'}", "--label-column", "diagnosis"], "table"),
    "arrays": (lambda root, tmp: ["--data", f"arrays:{root / 'digits.npz'}"], "images"),
    "images": (lambda root, tmp: ["--data", f"images:{root / 'folder'}"], "images"),
    "tfds": (lambda root, tmp: ["--data", "tfds:mnist"], "images"),
}


@pytest.mark.parametrize("source", TUNED_SOURCES)
def test_the_tuner_searches_on_each_kind_of_source(source, own_data, tmp_path):
    import contextlib

    from tuning import search

    data_flags, kind = TUNED_SOURCES[source]
    out = tmp_path / "search"
    with mock_tfds_mnist(tmp_path / "tfds", examples=120) if source == "tfds" else contextlib.nullcontext():
        search.main(["--model", "ae", "--space", "latent_dim", "--tuner", "random", "--max-trials", "2", "--epochs",
                     "2", *data_flags(own_data, tmp_path), "--batch-size", "20", "--validation-size", "40",
                     "--final-epochs", "1", "--no-compare-default", "--out", str(out)])
    assert json.loads((out / "search.json").read_text())["data"].startswith(f"{source}:")
    card = json.loads((out / "best" / "saved_model" / "card.json").read_text())
    assert card["data"]["kind"] == kind and card["flags"]["data"].startswith(f"{source}:")


def test_the_tabular_anomaly_recipe_and_its_detector(tmp_path):
    from recipes import anomaly_tabular

    run, art = tmp_path / "run", tmp_path / "art"
    per_seed = anomaly_tabular.main(["--seeds", "0", "--epochs", "40", "--run-dir", str(run), "--export-dir",
                                     str(art)])
    aurocs = per_seed[0]
    assert set(aurocs) == {*anomaly_tabular.DETECTORS, *anomaly_tabular.BASELINES}
    assert all(0.8 < value <= 1 for value in aurocs.values()), aurocs  # malignant rows rank above benign ones
    assert (run / "results.md").read_text().count("|") > 10 and (run / "roc.png").stat().st_size > 10_000
    card = json.loads((art / "vae" / "card.json").read_text())
    threshold = card["anomaly"]["threshold"]
    from sklearn.datasets import load_breast_cancer

    cancer = load_breast_cancer()
    code = (f"import json, numpy as np, tensorflow as tf\nfrom sklearn.datasets import load_breast_cancer\n"
            f"b = load_breast_cancer()\nm = tf.saved_model.load({str(art / 'vae')!r})\n"
            "print(json.dumps(m.score(rows=tf.constant(b.data, tf.float32))['score'].numpy().tolist()))")
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-2000:]
    scores = np.array(json.loads(result.stdout.strip().splitlines()[-1]))
    benign, malignant = scores[cancer.target == 1], scores[cancer.target == 0]
    assert np.mean(malignant > threshold) > 3 * np.mean(benign > threshold)


def test_a_shape_the_model_cannot_take_is_one_line_naming_what_would_work(own_data, tmp_path):
    result = run_python(["-m", "recipes.vae_mnist", "--data", f"images:{own_data / 'folder'}", "--image-size", "30",
                         "30", "--arch", "conv", "--hidden-units", "64", "--batch-size", "20", *FAST, "--run-dir",
                         str(tmp_path / "run"),
                         "--export-dir", ""])
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()[-1:]
    assert "Traceback" not in result.stderr
    assert "image_shape=(30, 30, 3)" in line and "28 or 32 (--image-size)" in line, line


# The application recipes, the anomaly recipe and the models that learn from labels on other data than MNIST's.

APPLICATIONS = ("pretrain_mnist", "restore_mnist", "ae_mixture_mnist", "latent_moves")


@pytest.mark.parametrize("recipe", APPLICATIONS)
def test_an_application_refuses_a_table_on_its_command_line(recipe, own_data, tmp_path, capsys):
    import importlib

    from tests.test_flags_hostile import parse_outcome

    np.savez(tmp_path / "rows.npz", x_train=np.ones((20, 3)), x_test=np.ones((5, 3)))  # a table: rows [n, d]
    config_cls = next(value for value in vars(importlib.import_module(f"recipes.{recipe}")).values()
                      if isinstance(value, type) and value.__name__.endswith("Config"))
    for spec in ("sklearn:breast_cancer", f"csv:{own_data / 'cancer.csv'}", f"arrays:{tmp_path / 'rows.npz'}"):
        status, code, err = parse_outcome(config_cls, ["--data", spec], capsys)
        assert (status, code) == ("exit", 2) and err.count("\n") == 1, err
        assert f"--data {spec} holds a table" in err and "this command takes images" in err, err


@pytest.fixture(scope="module")
def digits_models(tmp_path_factory):
    """An autoencoder, a masking denoising autoencoder and a VAE trained briefly on scikit-learn's digits at 16x16
    (the missing 12x12 block of the restoration fits in them): {name: artifact directory}."""
    root = tmp_path_factory.mktemp("digits_models")
    common = ["--data", "sklearn:digits", "--image-size", "16", "16", "--latent-dim", "4", "--hidden-units", "32",
              "--batch-size", "50", *FAST, "--epochs", "1"]
    for recipe in ("ae_mnist", "denoising_ae_mnist", "vae_mnist"):
        train(recipe, [*common, "--run-dir", str(root / f"run_{recipe}"), "--export-dir", str(root / recipe)])
    return {name: root / name for name in ("ae_mnist", "denoising_ae_mnist", "vae_mnist")}


def test_restoration_on_other_images(digits_models, tmp_path):
    from recipes import restore_mnist
    from zoo.errors import DataError

    denoiser = str(digits_models["denoising_ae_mnist"])
    argv = ["--data", "sklearn:digits", "--image-size", "16", "16", "--images", "40", "--iterations", "3",
            "--denoiser", denoiser, "--gaussian-denoiser", denoiser, "--blind-denoiser", denoiser,
            "--vae", str(digits_models["vae_mnist"]), "--out-dir", str(tmp_path / "out")]
    restore_mnist.main(argv)
    results = json.loads((tmp_path / "out" / "results.json").read_text())["results"]
    assert all(np.isfinite(row["vae"]["psnr_db"]) and row["corrupted"]["ssim"] < 1 for row in results.values())
    assert len(list((tmp_path / "out").glob("restore_*.png"))) == len(results)
    with pytest.raises(DataError, match="holds images of 8x8; .* takes images whose sides hold the missing 12x12"):
        restore_mnist.main(["--data", "sklearn:digits", "--out-dir", str(tmp_path / "small")])
    with pytest.raises(Exception, match=r"--vae .*vae_mnist takes inputs \[28, 28, 1\]; --data sklearn:digits "
                                        r"holds \[16, 16, 1\]: pass a model trained on that data"):
        restore_mnist.main([*argv[:-4], "--vae", str(ROOT / "saved_models" / "vae_mnist"), "--out-dir",
                            str(tmp_path / "mnist_vae")])


def test_latent_moves_and_the_mixture_on_other_images(digits_models, tmp_path):
    from recipes import ae_mixture_mnist, latent_moves

    data = ["--data", "sklearn:digits", "--image-size", "16", "16"]
    written = latent_moves.main([*data, "--artifact", str(digits_models["vae_mnist"]), "--out-dir",
                                 str(tmp_path / "moves")])
    assert sorted(path.name for path in written) == ["vae_mnist_attributes.png", "vae_mnist_interpolation.png"]
    metrics = ae_mixture_mnist.main([*data, "--autoencoder", str(digits_models["ae_mnist"] / "model.keras"),
                                     "--components", "2", "--run-dir", str(tmp_path / "mixture"), "--export-dir",
                                     str(tmp_path / "mixture_art")])
    assert np.isfinite(metrics["test_codes_log_likelihood_nats"])
    (shape, low, high), = endpoint_shapes(tmp_path / "mixture_art", "sample", {"num": 3, "seed": 1}).values()
    assert shape == [3, 16, 16, 1] and 0 <= low <= high <= 1


def test_pretraining_on_other_labelled_images(tmp_path):
    from recipes import pretrain_mnist
    from zoo.errors import ZooError

    argv = ["--data", "sklearn:digits", "--methods", "random", "pretrained", "--hidden-units", "32",
            "--pretrain-epochs", "2", "--budgets", "100", "--seeds", "1", "--finetune-steps", "200",
            "--learning-rate", "0.01", "--finetune-dropout", "0", "--finetune-input-dropout", "0",
            "--out-dir", str(tmp_path)]
    pretrain_mnist.main(argv)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert set(saved["results"]) == {"100/0/random", "100/0/pretrained"}
    assert all(0.3 < accuracy <= 1 for accuracy in saved["results"].values()), saved["results"]  # of ten digits
    assert saved["data"].startswith("scikit-learn:digits:")
    with pytest.raises(ZooError, match=r"--feature-vae .*vae_mnist takes inputs \[28, 28, 1\]; --data "
                                       r"sklearn:digits holds \[8, 8, 1\]"):
        pretrain_mnist.main([*argv[:2], "--methods", "vae_m1", "--budgets", "100", "--vae-budgets", "100",
                             "--feature-vae", str(ROOT / "saved_models" / "vae_mnist"), "--out-dir",
                             str(tmp_path / "vae")])


@pytest.fixture(scope="module")
def three_classes(tmp_path_factory):
    """The 8x8 digits 0, 1 and 2 as an npz with labels, and the same images without."""
    from sklearn.datasets import load_digits

    root = tmp_path_factory.mktemp("three_classes")
    digits = load_digits()
    keep = digits.target < 3
    images, labels = (digits.images[keep] / 16.0).astype(np.float32), digits.target[keep]
    np.savez(root / "labelled.npz", x_train=images[:400], y_train=labels[:400], x_test=images[400:],
             y_test=labels[400:])
    np.savez(root / "unlabelled.npz", x_train=images[:400], x_test=images[400:])
    return root


def test_the_models_that_learn_from_labels_take_the_class_count_from_the_data(three_classes, tmp_path):
    data = ["--data", f"arrays:{three_classes / 'labelled.npz'}", "--batch-size", "50",
            "--xla", "off", "--precision", "float32", "--epochs", "1"]
    train("cvae_mnist", [*data, "--latent-dim", "2", "--hidden-units", "32", "--eval-samples", "2",
                         "--run-dir", str(tmp_path / "cvae_run"), "--export-dir", str(tmp_path / "cvae")])
    assert json.loads((tmp_path / "cvae" / "card.json").read_text())["model_config"]["num_classes"] == 3
    (shape, low, high), = endpoint_shapes(tmp_path / "cvae", "sample", {"num": 4, "seed": 0, "digit": 2}).values()
    assert shape == [4, 8, 8, 1]
    train("mnist_classifier", [*data, "--feature-units", "16", "--run-dir", str(tmp_path / "classifier_run"),
                               "--export-dir", str(tmp_path / "classifier")])
    outputs = endpoint_shapes(tmp_path / "classifier", "classify", {"images": np.zeros([5, 8, 8, 1]).tolist()})
    assert outputs["probs"][0] == [5, 3]
    result = run_python(["-m", "recipes.cvae_mnist", "--data", f"arrays:{three_classes / 'unlabelled.npz'}",
                         *data[2:], "--run-dir", str(tmp_path / "unlabelled"), "--export-dir", ""])
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    line = result.stderr.strip().splitlines()[-1]
    assert f"--data arrays:{three_classes / 'unlabelled.npz'} has no labels, which cvae needs" in line, line


def test_the_anomaly_recipe_on_other_labelled_images_exports_a_detector_tensorflow_alone_runs(tmp_path):
    from recipes import anomaly_mnist

    anomaly_mnist.main(["--data", "sklearn:digits", "--digits", "1", "--detectors", "vae", "--epochs", "2",
                        "--likelihood-samples", "2", "--validation-size", "200", "--run-dir", str(tmp_path / "run"),
                        "--export-dir", str(tmp_path / "export")])
    results = json.loads((tmp_path / "run" / "results.json").read_text())["results"]["vae"]["1"]
    assert 0 <= results[results["chosen"]]["auroc"] <= 1
    detector = tmp_path / "export" / "vae" / "digit1"
    card = json.loads((detector / "card.json").read_text())
    assert card["data"]["input_shape"] == [8, 8, 1] and card["anomaly"]["normal_digit"] == 1
    from sklearn.datasets import load_digits

    images = (load_digits().images[:6] / 16.0)[..., None]
    (shape, low, high), = endpoint_shapes(detector, "score", {"images": images.tolist()}).values()
    assert shape == [6] and np.isfinite(low) and np.isfinite(high)


def test_only_models_that_take_images_resize_them_and_the_card_says_what_the_endpoints_take():
    from recipes.ae_mnist import AEMnistConfig
    from recipes.gan_mnist import GANMnistConfig
    import zoo
    from zoo import data, flags, pipeline, sources, training

    rng = np.random.default_rng(0)
    arrays = sources.SourceArrays(
        kind="images", x_train=rng.random((40, 16, 16, 3), np.float32), y_train=None,
        x_test=rng.random((8, 16, 16, 3), np.float32), y_test=None, fingerprint="x", description="noise",
        class_names=None, columns=None, test_part="given", spec="images:photos", resized=True)
    dataset = data.pipelines(arrays, batch_size=8, binarization="none")
    said = {}
    for config_class, model in ((AEMnistConfig, "ae"), (GANMnistConfig, "gan")):
        config = flags.parse(config_class, ["--data", "images:/", "--image-size", "16", "16"])
        arguments = training.data_arguments(config, dataset)
        said[model] = (arguments.get("resize_inputs", False),
                       pipeline.data_entry(config, dataset, zoo.get(model, **arguments))["preprocessing"])
    assert said["ae"][0] and "resize them to 16x16" in said["ae"][1]
    assert not said["gan"][0] and said["gan"][1].startswith("the endpoints take no images"), said


def test_a_model_that_resizes_takes_images_of_any_size_but_its_channels():
    import zoo
    from zoo.errors import ZooError

    zoo.require_input_shape("--vae v", (None, None, 3), "images:photos", (16, 16, 3))
    zoo.require_input_shape("--vae v", (16, 16, 3), "images:photos", (16, 16, 3))
    for holds in ((16, 16, 1), (16, 16), (30,)):
        with pytest.raises(ZooError, match=r"--vae v takes inputs \[any, any, 3\]; --data images:photos holds"):
            zoo.require_input_shape("--vae v", (None, None, 3), "images:photos", holds)
