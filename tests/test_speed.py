"""--xla auto / --precision auto: measured on this machine, cached, printed and recorded in the card."""

import contextlib
import io
import json

import pytest

from zoo import speed


@pytest.fixture
def measuring(monkeypatch, tmp_path):
    """Measurement on (conftest turns it off for every other test), with a cache of this test's own."""
    monkeypatch.delenv(speed.AUTO_ENV, raising=False)
    monkeypatch.setenv(speed.CACHE_ENV, str(tmp_path / "speed.json"))
    return tmp_path / "speed.json"


def test_auto_measures_once_then_reads_the_cache(measuring, mnist_dir, tmp_path):
    from recipes.vae_mnist import main

    args = ["--data-dir", mnist_dir, "--train-limit", "1000", "--batch-size", "100", "--epochs", "1", "--hidden-units", "16",
            "--latent-dim", "2", "--eval-samples", "2", "--export-dir", str(tmp_path / "export")]

    outputs = []
    for run in ("a", "b"):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            main([*args, "--run-dir", str(tmp_path / run)])
        outputs.append(printed.getvalue())
    assert "speed settings:" in outputs[0] and "measured now" in outputs[0]
    assert "measured before on this machine" in outputs[1]
    cache = json.loads(measuring.read_text())
    (record,) = cache.values()
    options = speed.candidates("auto", "auto", 1)
    assert {(r.split(",")[0] == "xla=on", r.split(",")[1]) for r in record["images_per_s"]} == set(options)
    assert all(rate > 0 for rate in record["images_per_s"].values())
    rates = {(name.split(",")[0] == "xla=on", name.split(",")[1]): rate for name, rate in record["images_per_s"].items()}
    chosen = (record["xla"], record["precision"])
    # the baseline unless another measured at least MARGIN faster (rates are rounded to whole images/s)
    assert chosen == speed.BASELINE or rates[chosen] >= speed.MARGIN * rates[speed.BASELINE] - 1
    card = json.loads((tmp_path / "export" / "card.json").read_text())
    assert card["training_speed"]["xla"] == record["xla"]
    assert card["training_speed"]["precision"] == record["precision"]


def test_flags_other_than_auto_are_obeyed_without_measuring(measuring):
    choice = speed.choose("off", "float32", has_gpu=False, replicas=1, model_config={}, batch_size=100,
                          build=None, batches=None)
    assert (choice["xla"], choice["precision"], choice["how"]) == (False, "float32", "flags")
    assert not measuring.exists()


def test_several_replicas_leave_xla_off_on_cpu():
    assert all(not xla for xla, _ in speed.candidates("auto", "float32", replicas=2))


def test_the_rule_without_measurement(monkeypatch):
    monkeypatch.setenv(speed.AUTO_ENV, "rule")
    choice = speed.choose("auto", "auto", has_gpu=False, replicas=1, model_config={}, batch_size=100,
                          build=None, batches=None)
    assert (choice["xla"], choice["precision"], choice["how"]) == (*speed.BASELINE, "rule (not measured)")


def test_workers_take_the_rule_instead_of_measuring(measuring):
    choice = speed.choose("auto", "auto", has_gpu=False, replicas=2, model_config={}, batch_size=100,
                          build=None, batches=None, multi_worker=True)  # build=None: measuring would fail
    assert (choice["xla"], choice["precision"]) == speed.BASELINE and not measuring.exists()


@pytest.mark.parametrize("multi_worker, xla", [(False, True), (True, False)])
def test_gpus_compile_with_xla_under_mirrored_but_not_across_workers(multi_worker, xla):
    choice = speed.choose("auto", "auto", has_gpu=True, replicas=4, model_config={}, batch_size=100,
                          build=None, batches=None, multi_worker=multi_worker)
    assert (choice["xla"], choice["precision"]) == (xla, "mixed_float16")


def test_the_cpu_is_named_with_family_model_and_vector_instructions():
    zen1 = "processor\t: 0\ncpu family\t: 23\nmodel\t\t: 1\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx avx2 fma\n\n" \
           "processor\t: 1\nmodel name\t: other\n"
    zen4 = "cpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\nflags\t\t: avx2 avx512f avx512_bf16\n"
    assert speed.describe_cpu(zen1) == "AMD EPYC (family 23, model 1; AVX2)"
    assert speed.describe_cpu(zen4) == "AMD EPYC (family 25, model 17; AVX-512 with bf16)"
    xeon = "model name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: avx2 avx512f amx_tile amx_bf16\n"
    assert speed.describe_cpu(xeon) == "Intel(R) Xeon(R) Platinum 8480+ (AMX)"
    assert speed.describe_cpu("processor\t: 0\n") is None
