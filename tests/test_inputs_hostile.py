"""Hostile inputs where a command once gave a traceback or ran out of memory: directories that are not artifacts
given to artifact flags, compression bombs and oversized MovieLens ids, data too small to split, flag combinations
that silently did nothing. Each stops with one line naming the path (or the flag) and what is wrong."""

import json

import pytest

from tests.conftest import ROOT, run_python

SAVED = ROOT / "saved_models"


def not_an_artifact(tmp_path, card=None, files=("card.json",)):
    """A directory with some of an artifact's files: card.json holding `card` (text), the others empty."""
    directory = tmp_path / "fake"
    directory.mkdir()
    for name in files:
        (directory / name).write_text(card if name == "card.json" and card is not None else "")
    return directory


ARTIFACT_CASES = {  # id -> (command, flags before the path, the path (a function of tmp_path), what the line says)
    "latent_moves, an empty directory": (
        "recipes.latent_moves", ["--artifact"], lambda tmp: tmp, "holds no card.json and no saved_model.pb"),
    "latent_moves, a file": (
        "recipes.latent_moves", ["--artifact"], lambda tmp: ROOT / "README.md", "is not a directory"),
    "latent_moves, a classifier": (
        "recipes.latent_moves", ["--artifact"], lambda tmp: SAVED / "mnist_classifier",
        "has no decode and encode or generate endpoint (its card.json lists classify)"),
    "restore_mnist, card.json and no saved_model.pb": (
        "recipes.restore_mnist", ["--denoiser"], lambda tmp: not_an_artifact(tmp, "{}"), "holds no saved_model.pb"),
    "restore_mnist, a VAE as denoiser": (
        "recipes.restore_mnist", ["--denoiser"], lambda tmp: SAVED / "vae_mnist", "has no restore endpoint"),
    "gan_mnist, a directory as classifier": (
        "recipes.gan_mnist", ["--frechet-every", "1", "--validation-size", "100", "--frechet-classifier"],
        lambda tmp: tmp, "holds no card.json"),
    "gan_mnist, a VAE as classifier": (
        "recipes.gan_mnist", ["--frechet-every", "1", "--validation-size", "100", "--frechet-classifier"],
        lambda tmp: SAVED / "vae_mnist", "has no classify endpoint"),
    "refresh, a card that is a list": (
        "zoo.refresh", ["--artifacts"], lambda tmp: not_an_artifact(tmp, "[]", ("card.json", "saved_model.pb",
                                                                                 "model.keras")),
        "card.json holds a JSON list, not an object"),
    "refresh, no model.keras": (
        "zoo.refresh", ["--artifacts", str(SAVED / "vae_mnist")],
        lambda tmp: not_an_artifact(tmp, "{}", ("card.json", "saved_model.pb")), "holds no model.keras"),
    "refresh, a card nested too deep": (
        "zoo.refresh", ["--artifacts"], lambda tmp: not_an_artifact(tmp, "[" * 100_000, ("card.json", "saved_model.pb",
                                                                                          "model.keras")),
        "card.json is not JSON"),
    "refresh, a card larger than a megabyte": (
        "zoo.refresh", ["--artifacts"], lambda tmp: not_an_artifact(tmp, " " * 2_000_000, ("card.json",
                                                                                             "saved_model.pb",
                                                                                             "model.keras")),
        "card.json is larger than 1,000,000 bytes"),
    "ae_mixture_mnist, /etc/passwd": (
        "recipes.ae_mixture_mnist", ["--autoencoder"], lambda tmp: "/etc/passwd", "is not a zip"),
    "ae_mixture_mnist, a VAE": (
        "recipes.ae_mixture_mnist", ["--autoencoder"], lambda tmp: SAVED / "vae_mnist" / "model.keras",
        "holds a zoo.models.vae.VAE, not a zoo.models.ae.AE"),
    "pretrain_mnist, an autoencoder as feature VAE": (
        "recipes.pretrain_mnist", ["--feature-vae"], lambda tmp: SAVED / "ae_mnist", "holds a 'ae' model"),
    "evaluation_speed, a directory": (
        "benchmarks.evaluation_speed", ["--model-dir"], lambda tmp: tmp, "holds no card.json"),
    "sample_quality, a VAE as classifier": (
        "benchmarks.sample_quality", ["--classifier"], lambda tmp: SAVED / "vae_mnist", "has no classify endpoint"),
    "serving_speed, an autoencoder without sample": (
        "benchmarks.serving_speed", ["--model-dir"], lambda tmp: SAVED / "ae_mnist",
        "has no reconstruct and sample and score endpoint"),
    "serving_http, a model that is not there": (
        "benchmarks.serving_http", ["--models", str(SAVED), "--model"], lambda tmp: "no_such_model", "does not exist"),
    "serving_http, a signature the model lacks": (
        "benchmarks.serving_http", ["--signature", "restore", "--model"], lambda tmp: "vae_mnist",
        "has no restore endpoint"),
}


@pytest.mark.parametrize("case", ARTIFACT_CASES)
def test_an_artifact_flag_refuses_what_is_not_such_an_artifact_in_one_line(case, tmp_path):
    module, before, path_of, says = ARTIFACT_CASES[case]
    path = str(path_of(tmp_path))
    result = run_python(["-c", f"import sys, runpy; sys.argv[0] = {module!r}; import zoo.flags\n"
                               f"try:\n    runpy.run_module({module!r}, run_name='__main__')\n"
                               "finally:\n    print('tensorflow' in sys.modules)",
                         *before, path], timeout=120)
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.count("\n") == 1 and path in result.stderr and says in result.stderr, result.stderr
    assert result.stdout == "False\n"  # refused before TensorFlow started
