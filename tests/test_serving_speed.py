import json
import math

from benchmarks import serving_speed
from tests.conftest import ROOT


def test_serving_speed_writes_finite_positive_timings(mnist_dir, tmp_path):
    out = tmp_path / "serving_speed.json"
    serving_speed.main(["--model-dir", str(ROOT / "saved_models" / "vae_mnist"), "--data-dir", mnist_dir, "--requests", "3", "--batches", "1", "--repeats", "1",
                        "--out", str(out)])
    results = json.loads(out.read_text())
    assert results["cpu"] and results["tensorflow"] and "--requests 3" in results["command"]
    assert set(results["endpoints"]) == set(serving_speed.ENDPOINTS)
    for endpoint, variants in results["endpoints"].items():
        assert {"saved_model", "saved_model_xla", "keras_eager"} == set(variants), endpoint
        for name, result in variants.items():
            if "unsupported" in result:  # only XLA may fail, and then says why
                assert name in serving_speed.XLA_VARIANTS and result["unsupported"], (endpoint, name)
                continue
            timings = [result["p50_ms"], result["p99_ms"], result["images_per_s"], *result["images_per_s_per_pass"]]
            assert all(math.isfinite(value) and value > 0 for value in timings), (endpoint, name, result)
            assert result["p50_ms"] <= result["p99_ms"]
            difference = result.get("max_abs_diff_vs_saved_model", 0.0)
            assert math.isfinite(difference) and difference >= 0
        # the eager Keras model is the artifact's own model.keras: the same outputs as the SavedModel
        assert variants["keras_eager"]["max_abs_diff_vs_saved_model"] < 1e-3, endpoint
