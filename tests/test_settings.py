"""Every setting is declared once (zoo.flags.Flags: a recipe changes an inherited default in DEFAULTS), a model's
argument checks are the model's and the command line reports them, and a run's settings have one serialised form
(zoo.flags.settings_dict) that the card, the checkpoint, the speed cache and refresh read, old cards included."""

import dataclasses
import json
import shutil

import pytest

from recipes import cvae_mnist, two_layer_vae_mnist, vae_mnist
from tests.conftest import ROOT, run_python
from zoo import config, flags


def help_text(config_cls, capsys):
    with pytest.raises(SystemExit):
        flags.parse(config_cls, ["--help"])
    return " ".join(capsys.readouterr().out.split())


def field(config_cls, name):
    return next(f for f in dataclasses.fields(config_cls) if f.name == name)


@dataclasses.dataclass
class LongerVAEConfig(vae_mnist.VAEMnistConfig):
    DEFAULTS = {"epochs": 7, "hidden_units": (16,)}


def test_a_recipe_changes_an_inherited_default_in_one_place_and_keeps_the_flag(capsys):
    assert "--epochs EPOCHS training epochs (default: 20)" in help_text(vae_mnist.VAEMnistConfig, capsys)
    assert "--epochs EPOCHS training epochs (default: 10)" in help_text(cvae_mnist.CVAEMnistConfig, capsys)
    assert flags.parse(vae_mnist.VAEMnistConfig, []).batch_size == 500
    assert flags.parse(cvae_mnist.CVAEMnistConfig, []).batch_size == config.TrainConfig.batch_size == 100
    two_layer = flags.parse(two_layer_vae_mnist.TwoLayerVAEMnistConfig, [])
    assert (two_layer.epochs, two_layer.importance_samples, two_layer.gradient_estimator) == (20, 5, "dreg")
    # the flag itself (help, check, choices) is still the one config.TrainConfig declares
    assert field(cvae_mnist.CVAEMnistConfig, "epochs").metadata == field(config.TrainConfig, "epochs").metadata
    longer = flags.parse(LongerVAEConfig, [])
    assert (longer.epochs, longer.hidden_units, longer.latent_dim) == (7, (16,), 32)
    assert "(default: 7)" in help_text(LongerVAEConfig, capsys)
    assert flags.parse(LongerVAEConfig, ["--epochs", "3"]).epochs == 3
    with pytest.raises(SystemExit):
        flags.parse(LongerVAEConfig, ["--epochs", "0"])  # the inherited check still applies
    assert "--epochs must be in 1..10000" in capsys.readouterr().err


def test_defaults_name_only_inherited_flags():
    with pytest.raises(TypeError, match="latent_size is not a flag it inherits"):
        type("Typo", (vae_mnist.VAEMnistConfig,), {"DEFAULTS": {"latent_size": 3}})
    with pytest.raises(TypeError, match="model is not a flag it inherits"):
        type("NotAFlag", (vae_mnist.VAEMnistConfig,), {"DEFAULTS": {"model": "cvae"}})


def test_the_changed_default_is_what_the_card_and_the_run_definition_hold(mnist_dir):
    import zoo
    from zoo import data, pipeline, training

    settings = LongerVAEConfig(latent_dim=2)
    model = zoo.get(settings.model, seed=settings.seed, **{**flags.model_kwargs(settings),
                                                          **training.data_arguments(settings)})
    card = pipeline.card(model, settings, {}, data.mnist(100, "dynamic", mnist_dir), "cmd")
    assert card["flags"]["epochs"] == 7 and card["flags"]["hidden_units"] == [16] and "data_dir" not in card["flags"]
    assert card["flags"] == {k: v for k, v in flags.settings_dict(settings).items() if k != "data_dir"}
    definition = training.run_config(model, settings, "data")
    assert definition["epochs"] == 7 and definition["hidden_units"] == [16]
    assert flags.from_dict(LongerVAEConfig, json.loads(json.dumps(card["flags"]))) == dataclasses.replace(
        settings, data_dir=None)


@pytest.mark.parametrize("argv, message", [
    (["--gradient-estimator", "dreg", "--beta", "2"],
     "the dreg gradient is of the (importance-weighted) bound, which --beta != 1 is not; received --beta=2.0 with "
     "--gradient-estimator=dreg"),
    (["--beta", "2", "--importance-samples", "3"], "received --beta=2.0, --importance-samples=3"),
    (["--arch", "conv", "--hidden-units"], "--hidden-units takes at least one value; received none"),
])
def test_a_models_check_is_reported_by_the_command_line_in_one_line(argv, message):
    result = run_python(["-m", "recipes.vae_mnist", *argv])
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("python -m recipes.vae_mnist: error: ") and result.stderr.endswith(f"{message}\n")
    assert result.stderr.count("\n") == 1


def test_the_command_line_reports_the_check_the_model_raises(capsys):
    import zoo

    with pytest.raises(ValueError) as raised:
        zoo.get("cvae", beta=2.0, gradient_estimator="dreg")
    assert str(raised.value) == ("the dreg gradient is of the (importance-weighted) bound, which beta != 1 is not; "
                                 "received beta=2.0 with gradient_estimator=dreg")
    with pytest.raises(SystemExit) as exit_info:
        flags.parse(cvae_mnist.CVAEMnistConfig, ["--beta", "2", "--gradient-estimator", "dreg"], prog="cmd")
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == ("cmd: error: the dreg gradient is of the (importance-weighted) bound, which "
                                       "--beta != 1 is not; received --beta=2.0 with --gradient-estimator=dreg\n")
    # the two-layer recipe trains the k = 5 bound with dreg by default, so any beta but 1 is refused
    with pytest.raises(SystemExit):
        flags.parse(two_layer_vae_mnist.TwoLayerVAEMnistConfig, ["--beta", "0.5"], prog="cmd")
    assert "use one or the other; received --beta=0.5, --importance-samples=5" in capsys.readouterr().err


def old_card(name, *removed):
    """The committed card of saved_models/<name>, as exported before this change, less the `removed` flags."""
    card = json.loads((ROOT / "saved_models" / name / "card.json").read_text())
    for key in removed:
        del card["flags"][key]
    return card


def test_cards_from_before_the_change_give_the_settings_they_were_trained_with():
    from zoo import pipeline

    vae = pipeline.card_settings(old_card("vae_mnist"))  # no train_digits, strategy, ... : flags added later
    assert (vae.binarization, vae.seed, vae.validation_size, vae.train_limit, vae.train_digits) == (
        "dynamic", 0, 0, 0, ())
    assert (vae.epochs, vae.batch_size) == (old_card("vae_mnist")["flags"]["epochs"],
                                            old_card("vae_mnist")["flags"]["batch_size"])
    gan = pipeline.card_settings(old_card("gan_mnist"))
    assert (gan.binarization, gan.validation_size, gan.train_digits) == ("none", 10000, ())
    mixture = pipeline.card_settings(old_card("ae_mixture_mnist"))  # its recipe has no --validation-size
    assert (mixture.binarization, mixture.validation_size) == ("none", 0)
    # a card whose flags lack the binarization: the one its "data" records, not TrainConfig's default
    assert pipeline.card_settings(old_card("ae_mnist", "binarization")).binarization == "none"
    assert pipeline.card_settings(old_card("beta_vae_mnist", "binarization")).binarization == "dynamic"


def test_refresh_reexports_a_committed_artifact_whose_card_predates_the_change(mnist_dir, tmp_path):
    from zoo import pipeline

    artifact = tmp_path / "linear_ae_mnist"
    shutil.copytree(ROOT / "saved_models" / "linear_ae_mnist", artifact)
    card = old_card("linear_ae_mnist", "binarization", "validation_size")
    (artifact / "card.json").write_text(json.dumps(card))
    pipeline.refresh(artifact, mnist_dir, "cmd")
    refreshed = json.loads((artifact / "card.json").read_text())
    assert refreshed["flags"] == card["flags"] and refreshed["metrics"] == card["metrics"]
    assert refreshed["reexports"][-1]["weights"].startswith("unchanged")
    # the threshold is set again on the same grayscale images ("dynamic", TrainConfig's default, would binarize them)
    for measure in ("threshold", "median_normal_score"):
        assert refreshed["anomaly"][measure] == pytest.approx(card["anomaly"][measure], rel=1e-4)


@pytest.mark.parametrize("name, value, said", [
    ("binarization", "xyz", "--binarization must be one of auto, dynamic, threshold, none; received 'xyz'"),
    ("validation_size", "many", "--validation-size holds 'many', which is not a whole number"),
    ("validation_size", True, "--validation-size holds True, which is not a whole number"),
    ("train_digits", [42], "--train-digits takes distinct digits 0..9"),
    ("train_digits", "7", "--train-digits holds '7', which is not a list"),
    ("seed", -1, "--seed must be in 0.."),
])
def test_a_card_whose_flags_hold_a_value_their_flag_refuses_is_named(name, value, said):
    from zoo import pipeline
    from zoo.errors import ZooError

    card = old_card("linear_ae_mnist")
    card["flags"][name] = value
    with pytest.raises(ZooError, match=r"^some/card\.json: its flags: ") as raised:
        pipeline.card_settings(card, "some/card.json")
    assert said in str(raised.value)
