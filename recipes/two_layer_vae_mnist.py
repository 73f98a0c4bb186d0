"""VAE with two stochastic layers (z1 -> z2, Burda et al. 2016) on MNIST: `python -m recipes.two_layer_vae_mnist --help`.

The flags are those of `recipes.vae_mnist` plus the sizes of the upper layer. With no flags: 20 epochs of the
importance-weighted bound (k = 5) with the DReG gradient. The flagship artifact in saved_models/two_layer_vae_mnist
was trained with the flags in its card.json.
"""

import dataclasses

from recipes.vae_mnist import VAEMnistConfig
from zoo import cli, config, flags
from zoo.flags import flag


@dataclasses.dataclass
class TwoLayerVAEMnistConfig(VAEMnistConfig):
    """Flags of `python -m recipes.two_layer_vae_mnist`: the VAE recipe's with z2 as --latent-dim, plus z1's size."""

    DEFAULTS = {"importance_samples": 5, "gradient_estimator": "dreg"}

    model: str = "two_layer_vae"
    run_dir: str = config.run_dir_flag("two_layer_vae_mnist")
    export_dir: str = config.export_dir_flag("two_layer_vae_mnist")
    latent_dim: int = flag(32, "size of the top code z2 (the endpoints' code)", flags.WIDTHS, model_arg=True)
    bottom_latent_dim: int = flag(64, "size of z1, the stochastic layer next to the image", flags.WIDTHS,
                                  model_arg=True)
    top_hidden_units: tuple = flag((256, 256), "widths of the hidden layers between z1 and z2", flags.WIDTHS,
                                   model_arg=True)


PROG = "python -m recipes.two_layer_vae_mnist"
main = cli.recipe_main(TwoLayerVAEMnistConfig, PROG, __doc__)

if __name__ == "__main__":
    cli.run_main(main)
