"""The zoo as an installable package (pyproject.toml): `pip install .` into a fresh virtual environment gives an
importable `zoo` outside the clone, its page files and console scripts, and a server that answers for an artifact.

The fresh environment sees the running environment's packages through a .pth file, so that pip resolves the
declared dependencies against them and installs only the zoo: a full install copies 2.7 GB of TensorFlow and its
dependencies (69 s on this project's 2-core machines), which a test run should not repeat."""

import json
import shutil
import site
import subprocess
import sys
import time
import tomllib
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.conftest import ROOT
from zoo import cluster

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def run(command, cwd, timeout=600):
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command} exited {result.returncode}: {result.stderr[-3000:]}"
    return result.stdout


def fresh_venv(directory):
    """A new virtual environment in `directory` that also sees this environment's packages; its bin directory."""
    subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True, timeout=300)
    purelib = next(directory.glob("lib/python*/site-packages"))
    (purelib / "zoo_test_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return directory / "bin"


def test_the_pinned_requirements_satisfy_the_package():
    """requirements.txt's set-up (the environment the tests run in) installs what pyproject.toml declares."""
    unmet = []
    for line in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(line)
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            unmet.append(f"{line}: not installed")
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            unmet.append(f"{line}: {version} installed")
    assert unmet == []


@pytest.mark.parametrize("editable", [False, True], ids=["install", "editable"])
def test_an_installed_zoo_serves_an_artifact(tmp_path, editable):
    bin_dir = fresh_venv(tmp_path / "venv")
    source = tmp_path / "source"  # a copy: setuptools writes build/ and *.egg-info beside the sources it builds
    shutil.copytree(ROOT / "zoo", source / "zoo", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    install = [str(bin_dir / "pip"), "install", "--quiet", "--disable-pip-version-check", "--no-build-isolation"]
    run(install + (["-e", str(source)] if editable else [str(source)]), cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"  # not the clone: `import zoo` must find the installed package
    elsewhere.mkdir()
    where = run([str(bin_dir / "python"), "-c", "import zoo, pathlib; print(pathlib.Path(zoo.__file__).parent)"],
                cwd=elsewhere).strip()
    if editable:
        assert Path(where) == source / "zoo"
    else:
        assert Path(where).is_relative_to(tmp_path / "venv")
        assert sorted(p.name for p in (Path(where) / "page").iterdir()) == ["app.js", "index.html", "style.css"]
    for script in PYPROJECT["project"]["scripts"]:
        assert "usage:" in run([str(bin_dir / script), "--help"], cwd=elsewhere)

    models = elsewhere / "models"
    shutil.copytree(ROOT / "saved_models" / "vae_mnist", models / "vae_mnist")
    port = cluster.free_port()
    server = subprocess.Popen([str(bin_dir / "zoo-serve"), "--models", str(models), "--port", str(port)],
                              cwd=elsewhere, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}/v1/models/vae_mnist"
        deadline = time.monotonic() + 240
        while True:
            assert server.poll() is None, f"zoo-serve exited: {server.stdout.read()[-3000:]}"
            assert time.monotonic() < deadline, "zoo-serve did not answer within 240 s"
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    status = json.load(response)
                break
            except OSError:
                time.sleep(0.5)
        assert status["model_version_status"][0]["state"] == "AVAILABLE"
        image = [[[0.0]] * 28] * 28
        body = json.dumps({"signature_name": "reconstruct", "instances": [{"images": image}]}).encode()
        with urllib.request.urlopen(urllib.request.Request(f"{url}:predict", body), timeout=60) as response:
            predictions = json.load(response)["predictions"]
        # one output: TF Serving's row format gives each row's value itself, [28, 28, 1]
        probabilities = [p for row in predictions[0] for column in row for p in column]
        assert len(probabilities) == 28 * 28 and all(0 <= p <= 1 for p in probabilities)
    finally:
        server.terminate()
        server.wait(timeout=30)
