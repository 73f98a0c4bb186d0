"""Autoencoder on MNIST: `python -m recipes.ae_mnist --help`.

With no flags: a dense autoencoder 784-512-32-512-784 with a sigmoid output and binary cross-entropy
on grayscale MNIST in [0, 1]. `--arch conv` for the convolutional one, more `--hidden-units` for a deep
one, `--latent-dim` above 784 for an overcomplete code, `--l2` for the weight penalty.
"""

import dataclasses

from zoo import cli, config, flags
from zoo.flags import flag


@dataclasses.dataclass
class AutoencoderFlags(config.TrainConfig):
    """Flags shared by the deterministic autoencoder recipes: the training flags plus the network's."""

    DEFAULTS = {"binarization": "none"}

    model: str = "ae"
    run_dir: str = config.run_dir_flag("ae_mnist")
    export_dir: str = config.export_dir_flag("ae_mnist")
    latent_dim: int = flag(32, "size of the code (below 784: undercomplete; above: overcomplete)", flags.WIDTHS,
                           model_arg=True)
    arch: str = flag("mlp", "encoder/decoder architecture", choices=config.ARCHITECTURES, model_arg=True)
    hidden_units: tuple = flag((512,), "widths of the hidden layers (more values: a deeper network)", flags.WIDTHS,
                               model_arg=True)
    output_activation: str = flag("auto", "sigmoid + binary cross-entropy for inputs in [0, 1], linear + squared "
                                          "error for real values; auto = linear for a table, sigmoid for images",
                                  choices=("auto", *config.OUTPUT_ACTIVATIONS), model_arg=True)
    l2: float = flag(0.0, "lambda of the weight penalty lambda * ||theta||^2", flags.non_negative, model_arg=True)


@dataclasses.dataclass
class AEMnistConfig(AutoencoderFlags):
    """Flags of `python -m recipes.ae_mnist`."""

    code_activation: str = flag("linear", "activation of the code layer",
                                choices=config.CODE_ACTIVATIONS, model_arg=True)


PROG = "python -m recipes.ae_mnist"
main = cli.recipe_main(AEMnistConfig, PROG, __doc__)

if __name__ == "__main__":
    cli.run_main(main)
