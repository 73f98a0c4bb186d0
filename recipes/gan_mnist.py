"""GAN on MNIST: `python -m recipes.gan_mnist --help`.

DCGAN-style convolutional generator and discriminator on grayscale MNIST, Adam (2e-4, beta_1 = 0.5)
for both players, the non-saturating generator loss (`--no-non-saturating` for the minimax one). A
grid from the same 64 codes is drawn after every epoch in <run dir>/figures/progress/. If the
discriminator wins outright (mean D(x) > 0.99 and mean D(G(z)) < 0.01 over an epoch) or a loss turns
non-finite, training stops with the last good checkpoint kept.
"""

import dataclasses

from zoo import cli, config, flags
from zoo.flags import flag


@dataclasses.dataclass
class GANMnistConfig(config.TrainConfig):
    """Flags of `python -m recipes.gan_mnist`."""

    model: str = "gan"
    run_dir: str = config.run_dir_flag("gan_mnist")
    export_dir: str = config.export_dir_flag("gan_mnist")
    epochs: int = flag(20, "training epochs", flags.EPOCHS)
    learning_rate: float = flag(2e-4, "Adam learning rate of both players", flags.positive)
    lr_schedule: str = flag("constant", "learning-rate schedule over all epochs", choices=("constant", "cosine"))
    binarization: str = config.binarization_flag("none")
    latent_dim: int = flag(64, "size of the code z ~ N(0, I)", flags.WIDTHS, model_arg=True)
    filters: int = flag(64, "filters of the first discriminator layer (the networks double it once)", flags.count(1, 1024),
                        model_arg=True)
    non_saturating: bool = flag(True, "generator maximizes log D(G(z)) (default) instead of minimizing "
                                      "log(1 - D(G(z)))", model_arg=True)


PROG = "python -m recipes.gan_mnist"
main = cli.recipe_main(GANMnistConfig, PROG, __doc__)

if __name__ == "__main__":
    cli.run_main(main)
