"""The classic autoencoders' recipes: flag checks and one full run through the shared core."""

import json

import numpy as np
import pytest

from tests.conftest import run_python
from zoo import flags


def recipe(name):
    import importlib

    return importlib.import_module(f"recipes.{name}_mnist")


@pytest.mark.parametrize("name, argv, message", [
    ("sparse_ae", ["--rho", "0"], "--rho must be in (0, 1); received --rho=0.0"),
    ("sparse_ae", ["--rho", "1.5"], "--rho must be in (0, 1); received --rho=1.5"),
    ("sparse_ae", ["--sparsity-weight", "-1"], "--sparsity-weight must be >= 0; received --sparsity-weight=-1.0"),
    ("denoising_ae", ["--noise-level", "1"], "--noise-level is q for masking and must be in [0, 1); "
                                            "received --noise-level=1.0"),
    ("denoising_ae", ["--corruption", "gaussian", "--noise-level", "-0.2"],
     "--noise-level is sigma for gaussian and must be >= 0; received --noise-level=-0.2"),
    ("denoising_ae", ["--corruption", "blur"], "argument --corruption: invalid choice: 'blur'"),
    ("contractive_ae", ["--contraction-weight", "-0.1"],
     "--contraction-weight must be >= 0; received --contraction-weight=-0.1"),
    ("ae", ["--l2", "-0.001"], "--l2 must be >= 0; received --l2=-0.001"),
    ("ae", ["--output-activation", "softmax"], "argument --output-activation: invalid choice: 'softmax'"),
    ("ae", ["--arch", "conv", "--hidden-units"], "--hidden-units takes at least one value; received none"),
    ("linear_ae", ["--l2", "nan"], "--l2 must be >= 0; received --l2=nan"),
    ("tied_ae", ["--arch", "conv"], "argument --arch: invalid choice: 'conv'"),
])
def test_bad_flags_exit_2_with_one_line(name, argv, message, capsys):
    module = recipe(name)
    config_cls = next(v for k, v in vars(module).items() if k.endswith("MnistConfig"))
    with pytest.raises(SystemExit) as exit_info:
        flags.parse(config_cls, argv, prog=name)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_bad_rho_from_the_command_line_has_no_traceback():
    result = run_python(["-m", "recipes.sparse_ae_mnist", "--rho", "1"])
    assert result.returncode == 2
    assert result.stderr == "python -m recipes.sparse_ae_mnist: error: --rho must be in (0, 1); received --rho=1.0\n"


CHECK_ARTIFACT = """
import sys
import numpy as np
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
images = tf.constant(np.load(sys.argv[2]))
restored = model.reconstruct(images)["probs"].numpy()
code = model.encode(images)["code"]
assert code.shape == (len(images), 32) and not hasattr(model, "sample")
np.testing.assert_allclose(model.decode(code)["probs"].numpy(), restored, atol=1e-6)
print(float(np.mean(np.sum((restored - images.numpy()) ** 2, axis=(1, 2, 3)))))
"""


def test_denoising_recipe_trains_evaluates_draws_and_exports(mnist_dir, tmp_path):
    run_dir, export_dir = tmp_path / "run", tmp_path / "artifact"
    result = run_python(["-m", "recipes.denoising_ae_mnist", "--data-dir", mnist_dir, "--train-limit", "3000",
                         "--epochs", "2", "--run-dir", str(run_dir), "--export-dir", str(export_dir)])
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key in ("test_bce_nats", "test_squared_error", "test_masked_q0.5_squared_error", "test_jacobian_norm"):
        assert np.isfinite(metrics[key])
    for png in ("reconstructions.png", "denoising.png", "latent_space.png", "interpolation.png"):
        assert (export_dir / png).stat().st_size > 1000
    card = json.loads((export_dir / "card.json").read_text())
    assert card["model"] == "denoising_ae" and card["model_config"]["noise_level"] == 0.5
    assert card["data"]["training_binarization"] == "none"

    from zoo import data

    np.save(tmp_path / "images.npy", data.mnist_grayscale(mnist_dir)["test"][0][:64])
    (tmp_path / "check.py").write_text(CHECK_ARTIFACT)
    check = run_python([str(tmp_path / "check.py"), str(export_dir), str(tmp_path / "images.npy")])
    assert check.returncode == 0, check.stderr[-3000:]
    assert float(check.stdout) < 60.0  # a trained reconstruction, far below the ~100 of an untrained one
