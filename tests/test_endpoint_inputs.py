"""Every signature of every committed artifact, called the way a hostile but fair caller would: any input gives
finite outputs of the right shape or an InvalidArgumentError saying which rule it broke, never a crash, a
NaN or a silent wrong answer. The artifacts are loaded with tf.saved_model.load, as a plain TF program would."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.conftest import ROOT
from zoo.signatures import CODE_LIMIT, MAX_SAMPLES

ARTIFACTS = sorted(p.parent for p in (ROOT / "saved_models").glob("*/saved_model.pb"))
SCALARS = {"num": 3, "seed": 7, "digit": 4}


@pytest.fixture(scope="module")
def loaded():
    return {}


def artifact_named(loaded, path):
    if path.name not in loaded:
        loaded[path.name] = tf.saved_model.load(str(path))
    return loaded[path.name]


def input_specs(signature):
    return signature.structured_input_signature[1]


def valid_inputs(specs, rows):
    """Inputs every check accepts, with `rows` rows (or num = rows for sample)."""
    inputs = {}
    for name, spec in specs.items():
        if spec.shape.rank == 0:
            inputs[name] = tf.constant(rows if name == "num" else SCALARS[name], spec.dtype)
        elif spec.dtype == tf.int32:
            inputs[name] = tf.constant(np.arange(rows) % 10, tf.int32)
        else:
            values = np.random.default_rng(0).random((rows, *spec.shape[1:])).astype(np.float32)
            inputs[name] = tf.constant(values * 4 + 1 if name == "ratings" else values)
    return inputs


def expected_rows(inputs):
    """num for sample, else the rows of the images, codes or ratings (digits may be a single one for all rows)."""
    if "num" in inputs:
        return int(inputs["num"])
    return int(next(value for name, value in inputs.items() if value.shape.rank and name != "digits").shape[0])


def assert_finite_with_rows(outputs, rows):
    for name, value in outputs.items():
        assert value.shape[0] == rows, (name, value.shape, rows)
        assert np.isfinite(value.numpy()).all(), name


@pytest.mark.parametrize("artifact", ARTIFACTS, ids=[p.name for p in ARTIFACTS])
def test_empty_in_gives_empty_out_on_every_endpoint(loaded, artifact):
    model = artifact_named(loaded, artifact)
    assert model.signatures
    for name, signature in model.signatures.items():
        assert_finite_with_rows(signature(**valid_inputs(input_specs(signature), 0)), 0)


@pytest.mark.parametrize("artifact", ARTIFACTS, ids=[p.name for p in ARTIFACTS])
def test_codes_beyond_the_limit_are_refused_and_codes_within_it_decode_to_finite_images(loaded, artifact):
    model = artifact_named(loaded, artifact)
    takes_codes = {name: s for name, s in model.signatures.items() if "code" in input_specs(s)}
    for name, signature in takes_codes.items():
        inputs = valid_inputs(input_specs(signature), 2)
        for huge in (3e38, -3e38, CODE_LIMIT * 1.01):
            with pytest.raises(tf.errors.InvalidArgumentError, match="code values must be within"):
                signature(**{**inputs, "code": tf.fill(inputs["code"].shape, huge)})
        for edge in (CODE_LIMIT, -CODE_LIMIT):
            assert_finite_with_rows(signature(**{**inputs, "code": tf.fill(inputs["code"].shape, edge)}), 2)


@pytest.mark.parametrize("artifact", ARTIFACTS, ids=[p.name for p in ARTIFACTS])
def test_sample_counts_are_capped(loaded, artifact):
    model = artifact_named(loaded, artifact)
    if "sample" not in model.signatures:
        return
    signature = model.signatures["sample"]
    inputs = valid_inputs(input_specs(signature), 0)
    for num in (MAX_SAMPLES + 1, 10**7, 2**31 - 1, -1):
        with pytest.raises(tf.errors.InvalidArgumentError, match=f"num must be in 0..{MAX_SAMPLES}"):
            signature(**{**inputs, "num": tf.constant(num)})
    assert_finite_with_rows(signature(**{**inputs, "num": tf.constant(MAX_SAMPLES)}), MAX_SAMPLES)


@pytest.mark.parametrize("artifact", ARTIFACTS, ids=[p.name for p in ARTIFACTS])
def test_wrong_shapes_and_dtypes_are_refused_by_every_signature(loaded, artifact):
    """Signatures (what TF Serving calls) check shapes inside the graph; the tf.function attributes before it."""
    model = artifact_named(loaded, artifact)
    for name, signature in model.signatures.items():
        inputs = valid_inputs(input_specs(signature), 2)
        for key, value in inputs.items():
            flattened = tf.reshape(value, [2, -1, 1, 1]) if value.shape.rank else tf.fill([2], value)
            with pytest.raises(tf.errors.InvalidArgumentError, match="is not compatible with expected shape"):
                signature(**{**inputs, key: flattened})
            with pytest.raises(tf.errors.InvalidArgumentError, match="was expected to be a"):
                signature(**{**inputs, key: tf.cast(value, tf.float64 if value.dtype == tf.float32 else tf.int64)})
            if name != "serving_default":
                with pytest.raises(TypeError, match="Binding inputs to tf.function failed"):
                    getattr(model, name)(**{**inputs, key: flattened})


def hostile_floats():
    return st.one_of(st.floats(0, 1, width=32), st.floats(width=32), st.sampled_from([1, 5, 3e38, 1e4, -1e4]))


@st.composite
def hostile_inputs(draw, specs):
    rows = draw(st.integers(0, 3))
    inputs = {}
    for name, spec in specs.items():
        if spec.shape.rank == 0:
            value = draw(st.one_of(st.integers(-3, 12), st.integers(-2**31, 2**31 - 1))
                         if name != "num" else st.one_of(st.integers(-3, 8), st.integers(-2**31, 2**31 - 1)))
            inputs[name] = tf.constant(value, tf.int32)
        elif spec.dtype == tf.int32:
            count = draw(st.sampled_from([rows, rows, 1, rows + 1]))
            inputs[name] = tf.constant(draw(hnp.arrays(np.int32, (count,), elements=st.integers(-2, 12))))
        else:
            inputs[name] = tf.constant(draw(hnp.arrays(np.float32, (rows, *spec.shape[1:]), elements=hostile_floats(),
                                                      fill=st.floats(0, 1, width=32))))
    return inputs


@pytest.mark.parametrize("artifact", ARTIFACTS, ids=[p.name for p in ARTIFACTS])
def test_any_input_gives_a_finite_answer_of_the_right_shape_or_a_clear_error(loaded, artifact):
    model = artifact_named(loaded, artifact)
    names = sorted(model.signatures)

    @settings(max_examples=25 * len(names), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                                 HealthCheck.data_too_large])
    @given(st.data())
    def check(data):
        name = data.draw(st.sampled_from(names))
        signature = model.signatures[name]
        inputs = data.draw(hostile_inputs(input_specs(signature)))
        try:
            outputs = signature(**inputs)
        except tf.errors.InvalidArgumentError as error:
            assert " must " in error.message, error.message
            return
        assert_finite_with_rows(outputs, expected_rows(inputs))

    check()
