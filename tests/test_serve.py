"""The model server (zoo.serve, zoo.server and the modules it is built of): TensorFlow Serving's REST API over real SavedModels, in process
through Starlette's test client: the documentation's own request bodies on its half_plus_three model, every
signature of every committed artifact, and bad requests answered with a 4xx and the endpoint's message."""

import json

import numpy as np
import pytest
import tensorflow as tf
from starlette.testclient import TestClient

from benchmarks import serving_http
from tests import own_data
from tests.conftest import ROOT, run_python
from zoo import flags, servables, server
from zoo.request_parsing import expected_shape

ARTIFACTS = sorted(path.parent.name for path in (ROOT / "saved_models").glob("*/saved_model.pb"))


class HalfPlusThree(tf.Module):
    """TF Serving's test model: y = 0.5 x + 3."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def serve(self, x):
        return {"y": 0.5 * x + 3.0}


@pytest.fixture(scope="module")
def half_plus_three(tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    module = HalfPlusThree()
    tf.saved_model.save(module, str(models / "half_plus_three"), signatures={"serving_default": module.serve})
    return TestClient(server.create_app(servables.load_all(models, log=lambda line: None)))


def test_the_documentation_examples_answer_as_documented(half_plus_three):
    status = half_plus_three.get("/v1/models/half_plus_three")
    assert status.status_code == 200
    assert status.json() == {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}
    predicted = half_plus_three.post("/v1/models/half_plus_three:predict", content='{"instances": [1.0,2.0,5.0]}')
    assert predicted.status_code == 200 and predicted.json() == {"predictions": [3.5, 4.0, 5.5]}
    columnar = half_plus_three.post("/v1/models/half_plus_three/versions/1:predict", content='{"inputs": [1.0, 5.0]}')
    assert columnar.json() == {"outputs": [3.5, 5.5]}
    missing = half_plus_three.post("/v1/models/half:predict", content='{"instances": [1.0,5.0]}')
    assert missing.status_code == 404 and missing.json() == {"error": "Servable not found for request: Latest(half)"}
    metadata = half_plus_three.get("/v1/models/half_plus_three/metadata").json()
    assert metadata["model_spec"]["name"] == "half_plus_three"
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["inputs"]["x"]["dtype"] == "DT_FLOAT" and signature["outputs"]["y"]["dtype"] == "DT_FLOAT"
    assert signature["method_name"] == "tensorflow/serving/predict"


@pytest.fixture(scope="module")
def zoo_client():
    loaded = servables.load_all(ROOT / "saved_models", log=lambda line: None)
    return TestClient(server.create_app(loaded, max_body_bytes=2**20, max_rows=300)), loaded


@pytest.fixture(scope="module")
def own_data_client(own_data_models):
    """The artifacts of other inputs than MNIST's (tests/own_data.py), served."""
    loaded = servables.load_all(own_data_models, log=lambda line: None)
    return TestClient(server.create_app(loaded, max_body_bytes=2**20, max_rows=300)), loaded


def served(request, name):
    """(test client, Servable) of the artifact `name`: a committed one, or one of tests/own_data.py's."""
    client, loaded = request.getfixturevalue("own_data_client" if name in own_data.NAMES else "zoo_client")
    return client, loaded[name]


def sized(shape, side=5):
    """`shape` with `side` for each dimension of any size (the sides of images a resizing model takes)."""
    return [side if size is None else size for size in shape]


def valid_inputs(signature):
    """A small valid input for each of the signature's named inputs."""
    rng = np.random.default_rng(0)
    inputs = {}
    for name, spec in signature.inputs.items():
        if not spec.shape.rank:
            inputs[name] = 3 if name == "num" else 1
        elif name == "ratings":
            inputs[name] = rng.integers(0, 6, size=[2, *spec.shape[1:]]).tolist()
        elif spec.dtype.is_integer:
            inputs[name] = [1, 7]
        else:
            inputs[name] = rng.random([2, *sized(spec.shape[1:])]).astype(np.float32).tolist()
    return inputs


def test_every_artifact_is_served(zoo_client, own_data_client):
    assert sorted(zoo_client[1]) == ARTIFACTS and sorted(own_data_client[1]) == own_data.NAMES


@pytest.mark.parametrize("name", [*ARTIFACTS, *own_data.NAMES])
def test_every_signature_of_every_artifact_answers_like_the_savedmodel(request, name):
    client, servable = served(request, name)
    for signature_name, signature in servable.signatures.items():
        inputs = valid_inputs(signature)
        response = client.post(f"/v1/models/{name}:predict", json={"signature_name": signature_name, "inputs": inputs})
        assert response.status_code == 200, (name, signature_name, response.text[:300])
        outputs = response.json()["outputs"]
        expected = signature.function(**{k: tf.constant(v, spec.dtype) for (k, v), spec in
                                         zip(inputs.items(), signature.inputs.values())})
        if len(signature.outputs) == 1:
            outputs = {signature.outputs[0]: outputs}
        for output_name in signature.outputs:
            np.testing.assert_allclose(np.asarray(outputs[output_name], np.float32),
                                       expected[output_name].numpy(), rtol=1e-5, atol=1e-5,
                                       err_msg=f"{name}.{signature_name}.{output_name}")


def wrong_shapes(shape):
    """Shapes a request may wrongly give an input of `shape` ([None, ...] batched, [] a scalar), two rows each: one
    dimension too many, the last one a size too large, the last one missing."""
    if not shape:
        return [[2]]
    dims = sized(shape[1:])
    return [[2, *dims, 1]] + ([[2, *dims[:-1], dims[-1] + 1], [2, *dims[:-1]]] if dims else [])


@pytest.mark.parametrize("name", [*ARTIFACTS, *own_data.NAMES])
def test_an_input_of_the_wrong_shape_is_a_400_naming_the_shape_the_signature_takes(request, name):
    client, servable = served(request, name)
    checked = 0
    for signature_name, signature in servable.signatures.items():
        valid = valid_inputs(signature)
        for input_name, spec in signature.inputs.items():
            shape = spec.shape.as_list()
            bodies = [(wrong, {"inputs": {**valid, input_name: np.zeros(wrong, int).tolist()}})
                      for wrong in wrong_shapes(shape)]
            if len(signature.inputs) == 1 and shape:  # the row format: one instance of a wrong shape per row
                bodies += [(wrong, {"instances": np.zeros(wrong, int).tolist()}) for wrong in wrong_shapes(shape)]
            if len(shape) > 1:  # rows of different shapes
                ragged = [np.zeros(sized(shape[1:])).tolist(), np.zeros(wrong_shapes(shape)[1][1:]).tolist()]
                bodies.append((None, {"inputs": {**valid, input_name: ragged}}))
            for wrong, body in bodies:
                response = client.post(f"/v1/models/{name}:predict", json={"signature_name": signature_name, **body})
                error = response.json()["error"]
                assert response.status_code == 400, (signature_name, input_name, wrong, error)
                assert f"input '{input_name}'" in error and f"shape {expected_shape(shape)}" in error, error
                assert wrong is None or error.endswith(f"; received {wrong}"), error
                assert "\n" not in error and len(error) < 400, error
                checked += 1
    assert checked >= 3 * len(servable.signatures) - 1  # (a GAN's generate and sample, each one input)


@pytest.mark.parametrize("name", [*ARTIFACTS, *own_data.NAMES])
def test_the_metadata_and_the_model_list_say_what_shape_of_data_a_model_takes(request, name):
    client, servable = served(request, name)
    card_data = servable.card["data"]
    shape = card_data.get("input_shape", [28, 28, 1])  # (MNIST's cards from before the entry was written)
    defs = client.get(f"/v1/models/{name}/metadata").json()["metadata"]["signature_def"]["signature_def"]
    data_shapes = {(signature, tensor): tuple(int(dim["size"]) for dim in spec["tensor_shape"]["dim"])
                   for signature, sig_def in defs.items() for part in ("inputs", "outputs")
                   for tensor, spec in sig_def[part].items() if tensor in ("images", "rows")}
    resizes = servable.card.get("model_config", {}).get("resize_inputs", False)
    accepts = [None, None, shape[-1]] if resizes else shape  # a resizing model takes images of any size
    inputs = {(-1, *(-1 if side is None else side for side in accepts))}
    assert data_shapes and set(data_shapes.values()) <= {(-1, *shape), *inputs}, data_shapes
    assert inputs <= set(data_shapes.values()) or "gan" in name, data_shapes
    (summary,) = [model for model in client.get("/v1/models").json()["models"] if model["name"] == name]
    data = summary["data"]
    assert data["shape"] == shape and data["name"] == ("rows" if len(shape) == 1 else "images")
    assert data["accepts"] == accepts
    assert data["kind"] == ("table" if len(shape) == 1 else "images")
    assert data["dataset"] == card_data["dataset"] and data["preprocessing"] == card_data.get("preprocessing")
    assert data["columns"] == (own_data.COLUMNS if name == "table_rows" else card_data.get("columns"))


def test_a_table_model_scores_rows_in_either_format(own_data_client):
    client, _ = own_data_client
    rows = [own_data.TABLE_MEAN, [value + 3 * scale for value, scale in zip(own_data.TABLE_MEAN, own_data.TABLE_SCALE)]]
    expected = [0.0, 9.0 * len(own_data.COLUMNS)]
    for body in [{"instances": rows}, {"instances": [{"rows": row} for row in rows]}, {"inputs": {"rows": rows}},
                 {"inputs": rows}]:
        response = client.post("/v1/models/table_rows:predict", json={"signature_name": "score", **body})
        assert response.status_code == 200, response.text
        answer = response.json()
        np.testing.assert_allclose(answer.get("predictions", answer.get("outputs")), expected, rtol=1e-4, atol=1e-4)
    short = client.post("/v1/models/table_rows:predict", json={"signature_name": "score", "instances": [[1.0] * 4]})
    assert short.status_code == 400 and short.json()["error"] == (
        "input 'rows' (the instances) must have shape [batch, 5], one [5] per instance; received [1, 4]")
    nan = client.post("/v1/models/table_rows:predict", content='{"signature_name": "score", "inputs": [[1, 2, NaN, 4, 5]]}')
    assert nan.status_code == 400 and nan.json()["error"].startswith("rows must be finite (no NaN or Inf)")
    drawn = client.post("/v1/models/table_rows:predict", json={"signature_name": "sample", "inputs": {"num": 3, "seed": 1}})
    assert np.shape(drawn.json()["outputs"]) == (3, 5)


def test_a_resizing_model_takes_images_of_any_size_and_refuses_another_channel_count(own_data_client):
    """vae_colour (tests/own_data.py, trained with --image-size 16 16) resizes what it is sent: a request of larger
    images answers as one of them resized, requests of two sizes both answer, and one channel is a 400."""
    client, _ = own_data_client
    larger = np.random.default_rng(0).random((2, 24, 40, 3)).astype(np.float32)
    resized = tf.image.resize(larger, (16, 16)).numpy()  # bilinear, as the sources and the endpoints resize

    def reconstruct(images):
        return client.post("/v1/models/vae_colour:predict", json={"signature_name": "reconstruct",
                                                                   "inputs": images.tolist()})

    answers = [reconstruct(images) for images in (larger, resized, larger[:, :9, :7])]
    assert [answer.status_code for answer in answers] == [200] * 3, answers[-1].text
    np.testing.assert_allclose(answers[0].json()["outputs"], answers[1].json()["outputs"], atol=1e-5)
    assert np.shape(answers[2].json()["outputs"]) == (2, 16, 16, 3)
    grey = reconstruct(larger[..., :1])
    assert grey.status_code == 400 and grey.json()["error"] == (
        "input 'images' must have shape [batch, any, any, 3], one [any, any, 3] per instance; received [2, 24, 40, 1]")


def test_row_format_gives_one_object_per_row(zoo_client):
    client, _ = zoo_client
    images = np.zeros([3, 28, 28, 1]).tolist()
    encoded = client.post("/v1/models/vae_mnist:predict", json={"signature_name": "encode", "instances": images})
    rows = encoded.json()["predictions"]
    assert len(rows) == 3 and set(rows[0]) == {"code", "mean", "stddev"} and len(rows[0]["code"]) == 32
    digits = client.post("/v1/models/cvae_mnist:predict", json={"signature_name": "reconstruct", "instances": [
        {"images": images[0], "digits": 3}, {"images": images[1], "digits": 4}]})
    assert digits.status_code == 200 and np.asarray(digits.json()["predictions"]).shape == (2, 28, 28, 1)


@pytest.mark.parametrize("body, status, words", [
    ("{not json", 400, "malformed JSON"),
    ("[1, 2]", 400, "JSON object"),
    ('{"signature_name": "nope", "instances": []}', 400, 'Serving signature name: "nope" not found'),
    ('{"instances": [[1]]}', 400, "must have shape [batch, 28, 28, 1], one [28, 28, 1] per instance; received [1, 1]"),
    ('{"instances": [], "inputs": []}', 400, "not both"),
    ('{"signature_name": "decode"}', 400, "either 'instances'"),
    ('{"signature_name": "sample", "instances": [1]}', 400, "columnar"),
    ('{"signature_name": "sample", "inputs": {"num": 5000, "seed": 1}}', 400, "num must be in 0..1000"),
    ('{"signature_name": "sample", "inputs": {"num": 2.5, "seed": 1}}', 400, "whole numbers"),
    ('{"signature_name": "sample", "inputs": {"num": 2}}', 400, "the signature takes ['num', 'seed']"),
    ('{"signature_name": "decode", "inputs": {"code": [[1e9' + ', 0' * 31 + ']]}}', 400, "code values must be within"),
    (json.dumps({"signature_name": "score",
                 "inputs": {"images": np.pad([[[[np.nan]]]], [(0, 0), (0, 27), (0, 27), (0, 0)]).tolist()}}),
     400, "images must be finite"),
    ('{"inputs": {"images": [[[["a"]]]]}}', 400, "must hold numbers"),
    ('{"inputs": ' + json.dumps(np.zeros([301, 28, 28, 1]).tolist()) + '}', 413, ""),
])
def test_bad_requests_get_a_4xx_with_the_reason(zoo_client, body, status, words):
    client, _ = zoo_client
    response = client.post("/v1/models/vae_mnist:predict", content=body)
    assert response.status_code == status, response.text[:300]
    assert words in response.json()["error"]


def test_the_gallery_lists_every_artifact_with_its_figures_and_latent_directions(zoo_client):
    client, loaded = zoo_client
    models = client.get("/v1/models").json()["models"]
    assert sorted(m["name"] for m in models) == sorted(loaded)
    vae = next(m for m in models if m["name"] == "vae_mnist")
    assert vae["metrics"]["test_nll_nats"] > 0 and vae["anomaly"]["threshold"] > 0
    figure = client.get(vae["figures"][0])
    assert figure.status_code == 200 and figure.content[:4] == b"\x89PNG"
    assert client.get("/v1/models/vae_mnist/figures/..%2Fcard.json").status_code == 404
    latent = client.get("/v1/models/vae_mnist/latent").json()
    assert np.asarray(latent["directions"]).shape == (2, 32) and min(latent["scales"]) > 0
    assert latent == json.loads((ROOT / "saved_models" / "vae_mnist" / "card.json").read_text())["latent"]
    assert {m["name"] for m in models if m["latent"]} == {
        name for name, servable in loaded.items() if {"encode", "decode"} <= set(servable.signatures)
        and list(servable.signatures["encode"].inputs) == ["images"]}  # all but the conditional VAE's
    assert client.get("/").status_code == 200 and "Autoencoder zoo" in client.get("/").text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/../server.py").status_code == 404


def test_the_code_size_shown_is_what_decode_takes(zoo_client):
    client, _ = zoo_client
    models = client.get("/v1/models").json()["models"]
    for model in models:
        takes_code = [inputs["code"] for inputs in model["signatures"].values() if "code" in inputs]
        assert takes_code == [f"[batch, {model['code_size']}]"] * len(takes_code), model["name"]
    two_layer = next(m for m in models if m["name"] == "two_layer_vae_mnist")
    assert two_layer["code_size"] == 64 and two_layer["code"].startswith("z1")


@pytest.mark.parametrize("latent, log", [
    (None, []),  # a card exported before the entry existed
    ({"mean": [0.0] * 3, "directions": [[1.0, 0, 0], [0, 1.0, 0]], "scales": [1.0, 1.0], "images": 2, "code_size": 3},
     ["ae: latent explorer off: the card's \"latent\" entry is not usable (its mean and directions are not of the size "
      "of the code its decode signature takes)"]),
    ({"mean": "<script>", "directions": [], "scales": [1.0], "images": 2, "code_size": 32},
     ["ae: latent explorer off: the card's \"latent\" entry is not usable (mean: '<script>' is not a list)"]),
])
def test_an_artifact_whose_card_has_no_usable_latent_entry_is_served_without_a_latent_explorer(tmp_path, latent, log):
    artifact = tmp_path / "models" / "ae"
    artifact.mkdir(parents=True)
    for name in ["saved_model.pb", "variables"]:
        (artifact / name).symlink_to(ROOT / "saved_models" / "ae_mnist" / name)
    card = json.loads((ROOT / "saved_models" / "ae_mnist" / "card.json").read_text())
    card.pop("latent")
    (artifact / "card.json").write_text(json.dumps(card if latent is None else {**card, "latent": latent}))
    lines = []
    client = TestClient(server.create_app(servables.load_all(tmp_path / "models", log=lines.append)))
    assert lines[:-1] == log and lines[-1].startswith("loaded ae: ")
    assert client.get("/v1/models").json()["models"][0]["latent"] is False
    missing = client.get("/v1/models/ae/latent")
    assert missing.status_code == 404 and "ae has no latent directions" in missing.json()["error"]
    assert client.post("/v1/models/ae:predict", json={"signature_name": "encode", "instances": [
        np.zeros((28, 28, 1)).tolist()]}).status_code == 200  # the rest is served


def test_figure_links_work_for_any_artifact_name(tmp_path):
    """Names with URL syntax in them (# ? % /-free) reach their figure through the link the gallery is given."""
    figure = tmp_path / "what? #1.png"
    figure.write_bytes(b"\x89PNG fake")
    servable = servables.Servable("model #2?", tmp_path, None, {}, {}, {}, {figure.name: figure})
    client = TestClient(server.create_app({servable.name: servable}))
    (link,) = client.get("/v1/models").json()["models"][0]["figures"]
    assert "#" not in link and "?" not in link
    assert client.get(link).content == b"\x89PNG fake"


@pytest.mark.parametrize("args, message", [
    (["--port", "70000"], "--port must be in 1..65535; received --port=70000"),
    (["--header-timeout-s", "0"], "--header-timeout-s must be in 0.1..3600; received --header-timeout-s=0.0"),
    (["--allow-origin", "http://localhost:3000", "null"], "--allow-origin takes web origins, a scheme, host and "
     "port such as http://localhost:3000 (no path, no trailing slash); received --allow-origin='null'"),
    (["--allow-origin", "http://localhost:3000/"], "--allow-origin takes web origins, a scheme, host and port such as "
     "http://localhost:3000 (no path, no trailing slash); received --allow-origin='http://localhost:3000/'"),
])
def test_a_bad_flag_is_one_line_and_exit_2(args, message):
    result = run_python(["-m", "zoo.serve", *args], timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"python -m zoo.serve: error: {message}"]


def test_the_http_benchmark_runs_every_cell_for_its_least_seconds(capsys):
    stop = serving_http.Stop(requests=400, min_seconds=5, max_seconds=20)
    assert not stop(100_000, 4.9) and not stop(399, 19.9)
    assert stop(400, 5) and stop(0, 20)
    with pytest.raises(SystemExit) as exit:
        flags.parse(serving_http.ServingHttpConfig, ["--min-seconds", "30"], prog="benchmark")
    assert exit.value.code == 2 and "--min-seconds (30) must not be more than --seconds (20)" in capsys.readouterr().err
