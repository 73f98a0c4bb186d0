"""Conditional VAE on MNIST: `python -m recipes.cvae_mnist --help`.

The VAE of `recipes.vae_mnist` with the digit label given to its encoder and decoder; the exported
artifact's `sample(num, seed, digit)` draws the digit asked for, and samples.png has one row per digit.
"""

import dataclasses

from recipes.vae_mnist import VAEMnistConfig
from zoo import cli, config


@dataclasses.dataclass
class CVAEMnistConfig(VAEMnistConfig):
    """Flags of `python -m recipes.cvae_mnist`: those of the VAE recipe."""

    # The shared defaults the CVAE artifact was trained with (the VAE's larger batches are not measured for it).
    DEFAULTS = {field: getattr(config.TrainConfig, field) for field in ("epochs", "batch_size", "learning_rate")}

    model: str = "cvae"
    run_dir: str = config.run_dir_flag("cvae_mnist")
    export_dir: str = config.export_dir_flag("cvae_mnist")


PROG = "python -m recipes.cvae_mnist"
main = cli.recipe_main(CVAEMnistConfig, PROG, __doc__)

if __name__ == "__main__":
    cli.run_main(main)
