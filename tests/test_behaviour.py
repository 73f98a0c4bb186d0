"""Every artifact under saved_models/ (found from the directory: a new artifact is covered by being committed),
each endpoint it declares judged by what it does on 1,000 real test digits, with the committed classifier reading
the results (benchmarks.judges measures; this module holds the floors), and the README's numbers
(benchmarks/results/artifact_behaviour.json) checked against what is measured here."""

import json

import pytest

from benchmarks import artifact_behaviour, judges
from tests.conftest import ROOT, run_python

ARTIFACTS = judges.artifact_paths(ROOT / "saved_models")
AGREEMENT_FLOOR = 0.95  # share of reconstructions the classifier reads as the input's digit
# Where a model cannot meet a default floor: (artifact, endpoint) -> (floor, the measured reason).
FLOORS = {
    ("beta_vae_mnist", "reconstruct"): (0.92, "beta = 4 weighs the KL term four times, trading reconstruction for a "
                                              "simpler code: its test reconstruction term is 103.6 nats against the "
                                              "VAE's 70.1 (their cards), and 93.1% of its reconstructions keep "
                                              "their digit"),
    ("beta_vae_mnist", "encode"): (0.92, "decode(encode(x)) is its reconstruct: see above"),
}
SAMPLE_SHARE_FLOOR = 0.03  # each digit's share of 1,000 draws
ASKED_DIGIT_FLOOR = 0.90  # conditional models: the share of draws of digit c that read as c
AUROC_FLOOR = 0.95
THRESHOLD_PROMISE = 0.90  # share of normal test digits at or under the card's threshold (set for 1% false positives)
CLASSIFIER_ACCURACY_FLOOR = 0.98


def floor(artifact, endpoint, default=AGREEMENT_FLOOR):
    return FLOORS.get((artifact, endpoint), (default, ""))[0]


def check_reconstruct(name, measured):
    assert measured["agreement"] >= floor(name, "reconstruct"), measured
    assert measured["repeatable"]


def check_encode(name, measured, everything):
    assert measured["decode_encode_agreement"] >= floor(name, "encode"), measured
    if "reconstruct" in everything:  # reconstruct is decode(encode(x)) for every autoencoder
        assert abs(measured["decode_encode_agreement"] - everything["reconstruct"]["agreement"]) <= 0.01


def check_sample(name, measured):
    assert measured["same_seed_same_images"] and measured["other_seed_other_images"], measured
    if "asked_digit_share_min" in measured:
        assert measured["asked_digit_share_min"] >= ASKED_DIGIT_FLOOR, measured
    else:
        check_generate(name, measured)


def check_generate(name, measured):
    assert measured["digits_present"] == 10 and measured["smallest_digit_share"] >= SAMPLE_SHARE_FLOOR, measured


def check_score(name, measured):
    assert measured["auroc_inverted"] >= AUROC_FLOOR and measured["auroc_noise"] >= AUROC_FLOOR, measured
    assert measured["normal_under_threshold"] >= THRESHOLD_PROMISE, measured


def check_restore(name, measured):
    assert measured["psnr_restored"] > measured["psnr_corrupted"], measured


def check_classify(name, measured):
    assert measured["accuracy"] >= CLASSIFIER_ACCURACY_FLOOR and measured["largest_probability_sum_error"] < 1e-4


# Table artifacts, on their own source's test rows (benchmarks.judges.TABLE_JUDGES).
VARIANCE_EXPLAINED_FLOOR = 0.5  # of the normal test rows, per column in units of its spread
TABLE_AUROC_FLOOR = 0.85  # the other classes' test rows above the normal class's
SAMPLE_MEAN_OFFSET_CEILING = 0.5  # a column's mean of 1,000 draws from the normal rows' mean, in their spread


def check_table_reconstruct(name, measured):
    assert measured["variance_explained"] >= VARIANCE_EXPLAINED_FLOOR and measured["repeatable"], measured


def check_table_encode(name, measured, everything):
    assert measured["decode_encode_difference"] < 1e-3, measured


def check_table_sample(name, measured):
    assert measured["same_seed_same_rows"] and measured["other_seed_other_rows"], measured
    assert measured["largest_column_mean_offset"] <= SAMPLE_MEAN_OFFSET_CEILING, measured


def check_table_score(name, measured):
    assert measured["auroc_other_classes"] >= TABLE_AUROC_FLOOR, measured
    assert measured["normal_under_threshold"] >= THRESHOLD_PROMISE, measured


TABLE_CHECKS = {"reconstruct": check_table_reconstruct, "sample": check_table_sample, "score": check_table_score}

CHECKS = {"reconstruct": check_reconstruct, "sample": check_sample, "generate": check_generate,
          "score": check_score, "restore": check_restore, "classify": check_classify}


@pytest.fixture(scope="module")
def judge():
    return judges.Judge(ROOT / "saved_models")


@pytest.fixture(scope="module")
def committed_results():
    return json.loads(artifact_behaviour.RESULTS.read_text())["artifacts"]


def test_every_endpoint_kind_has_a_judge():
    assert set(judges.JUDGES) == set(CHECKS) | {"encode", "decode"}
    assert set(judges.TABLE_JUDGES) == set(TABLE_CHECKS) | {"encode", "decode"}


@pytest.mark.parametrize("path", ARTIFACTS, ids=[path.name for path in ARTIFACTS])
def test_each_endpoint_does_what_it_says(path, judge, mnist_dir, committed_results):
    artifact = judges.Artifact(path)
    table = judges.is_table(artifact)
    unjudged = sorted(set(artifact.signatures) - set(judges.judges_of(artifact)))
    assert not unjudged, f"{path.name} declares endpoints no judge knows: {unjudged} (add one to benchmarks.judges)"
    assert ("decode" in artifact.signatures) == ("encode" in artifact.signatures), "decode is judged through encode"
    measured = judges.measure(artifact, judge, mnist_dir)
    for endpoint, numbers in measured.items():
        if endpoint == "encode":
            (check_table_encode if table else check_encode)(path.name, numbers, measured)
        else:
            (TABLE_CHECKS if table else CHECKS)[endpoint](path.name, numbers)
    assert artifact.faults == []
    # The README's artifact table shows the committed numbers: they must be what the artifact does now.
    committed = committed_results.get(path.name)
    assert committed is not None, (f"{path.name} is not in {artifact_behaviour.RESULTS}: "
                                   f"run `{artifact_behaviour.PROG} --data-dir DIR`")
    for endpoint, numbers in measured.items():
        for key, value in numbers.items():
            if isinstance(value, float):
                assert committed[endpoint][key] == pytest.approx(value, abs=0.01), (endpoint, key)
            else:
                assert committed[endpoint][key] == value, (endpoint, key)


def test_the_floors_name_only_existing_artifacts_with_a_reason():
    names = {path.name for path in ARTIFACTS}
    for (artifact, endpoint), (_, reason) in FLOORS.items():
        assert artifact in names and endpoint in judges.JUDGES and len(reason) > 20


def test_the_command_refuses_a_directory_for_its_results(tmp_path):
    result = run_python(["-m", "benchmarks.artifact_behaviour", "--out", str(tmp_path)], timeout=60)
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        f"python -m benchmarks.artifact_behaviour: error: --out takes a file to write: {tmp_path} is a directory"]
