"""GAN on MNIST: `python -m recipes.gan_mnist --help`.

DCGAN-style convolutional generator and discriminator on grayscale MNIST, Adam (2e-4, beta_1 = 0.5)
for both players, the non-saturating generator loss (`--no-non-saturating` for the minimax one). A
grid from the same 64 codes is drawn after every epoch in <run dir>/figures/progress/. If the
discriminator wins outright (mean D(x) > 0.99 and mean D(G(z)) < 0.01 over an epoch) or a loss turns
non-finite, training stops with the last good checkpoint kept.

Options that make GANs train well: --hinge, --spectral-norm, --ema-decay, --discriminator-lr-ratio (TTUR),
--discriminator-batch-norm.
With --frechet-every N, every N epochs the Fréchet distance of 5,000 samples to the --validation-size training
images held out from GAN training is measured on the classifier artifact's features; the curve is drawn in
<run dir>/figures/frechet_curve.png and the best checkpoint by that distance is the one evaluated and exported.
"""

import dataclasses

from zoo import cli, config, flags
from zoo.flags import flag


@dataclasses.dataclass
class GANMnistConfig(config.TrainConfig):
    """Flags of `python -m recipes.gan_mnist`."""

    DEFAULTS = {"epochs": 20, "lr_schedule": "constant", "binarization": "none"}

    model: str = "gan"
    run_dir: str = config.run_dir_flag("gan_mnist")
    export_dir: str = config.export_dir_flag("gan_mnist")
    learning_rate: float = flag(2e-4, "Adam learning rate of both players", flags.positive)
    latent_dim: int = flag(64, "size of the code z ~ N(0, I)", flags.WIDTHS, model_arg=True)
    filters: int = flag(64, "filters of the first discriminator layer (the networks double it once)", flags.count(1, 1024),
                        model_arg=True)
    refinement_convs: int = flag(0, "3x3 stride-1 convolutions added at each inner resolution of both networks "
                                    "(0: the course's networks)", flags.count(0, 8), model_arg=True)
    non_saturating: bool = flag(True, "generator maximizes log D(G(z)) (default) instead of minimizing "
                                      "log(1 - D(G(z)))", model_arg=True)
    hinge: bool = flag(False, "the hinge loss for both players (the reported value stays C(D, G))", model_arg=True)
    spectral_norm: bool = flag(False, "spectral normalization of the discriminator's layers", model_arg=True)
    ema_decay: float = flag(0.0, "decay of the moving average of the generator's weights that generate serves "
                                 "(0: none)", flags.unit_interval_right_open, model_arg=True)
    discriminator_batch_norm: bool = flag(False, "batch normalization after every discriminator convolution but the "
                                                 "first (DCGAN's discriminator)", model_arg=True)
    discriminator_lr_ratio: float = flag(1.0, "the discriminator's learning rate over the generator's (TTUR)",
                                         flags.positive, model_arg=True)
    frechet_every: int = flag(0, "measure the Fréchet distance to held-out training images every N epochs and keep "
                                 "the best checkpoint (0: off; needs --validation-size)", flags.count(0, 10_000))
    frechet_samples: int = flag(5000, "generated images per Fréchet measurement", flags.count(100, 60_000))
    frechet_classifier: str = flag("saved_models/mnist_classifier", "classifier artifact whose features the "
                                                                   "distance uses (with --frechet-every)")

    def check(self):
        if self.frechet_every and not self.validation_size:
            return ("--frechet-every chooses the checkpoint on training images held out from GAN training: pass "
                    f"--validation-size > 0 too; received --frechet-every={self.frechet_every} "
                    f"--validation-size={self.validation_size}")
        if self.frechet_every:
            problem = flags.artifact_dir({"classify"})("--frechet-classifier", self.frechet_classifier)
            if problem:
                return problem
        return super().check()


PROG = "python -m recipes.gan_mnist"
main = cli.recipe_main(GANMnistConfig, PROG, __doc__)

if __name__ == "__main__":
    cli.run_main(main)
