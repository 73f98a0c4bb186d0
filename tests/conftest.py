import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# --xla/--precision auto without timing each test's model (tests/test_speed.py measures)
os.environ.setdefault("ZOO_SPEED_AUTO", "rule")


@pytest.fixture(scope="session")
def mnist_dir():
    """The real MNIST directory from ZOO_DATA_DIR; tests that need it skip when it is not given."""
    path = os.environ.get("ZOO_DATA_DIR")
    if not path:
        pytest.skip("needs real MNIST: set ZOO_DATA_DIR to the directory of the four IDX files")
    return str(Path(path).absolute())  # absolute: some tests run commands from another directory


@pytest.fixture(scope="session")
def movielens_dir():
    """MovieLens 100K (u.data) from ZOO_MOVIELENS_DIR, else the ml-100k directory beside ZOO_DATA_DIR's."""
    path = os.environ.get("ZOO_MOVIELENS_DIR")
    if not path and os.environ.get("ZOO_DATA_DIR"):
        path = str(Path(os.environ["ZOO_DATA_DIR"]).parent / "ml-100k")
    if not path or not (Path(path) / "u.data").exists():
        pytest.skip("needs MovieLens 100K: set ZOO_MOVIELENS_DIR to the directory of u.data")
    return str(Path(path).absolute())


@pytest.fixture(scope="session")
def mnist_small(mnist_dir):
    from zoo import data

    return data.mnist(batch_size=100, data_dir=mnist_dir, train_limit=2000)


def run_python(code_or_args, env=None, timeout=300):
    """Runs a fresh Python process in the repo root; returns the CompletedProcess."""
    import subprocess

    args = ["-c", code_or_args] if isinstance(code_or_args, str) else list(code_or_args)
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=full_env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="session")
def own_data_models(tmp_path_factory):
    """A models directory of artifacts of other inputs than MNIST's (tests/own_data.py: 8x8x1, 16x16x3 and rows)."""
    from tests import own_data

    return own_data.make_models(tmp_path_factory.mktemp("own_data"))
