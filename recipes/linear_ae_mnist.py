"""Linear autoencoder = PCA on MNIST: `python -m recipes.linear_ae_mnist --help`.

Linear encoder and decoder without biases on centred grayscale MNIST, squared error. Its decoder spans
the top principal subspace; with `--l2` > 0 its left singular vectors are the principal directions.
"""

import dataclasses

from zoo import cli, config, flags
from zoo.flags import flag


@dataclasses.dataclass
class LinearAEMnistConfig(config.TrainConfig):
    """Flags of `python -m recipes.linear_ae_mnist`."""

    DEFAULTS = {"binarization": "none"}

    model: str = "linear_ae"
    run_dir: str = config.run_dir_flag("linear_ae_mnist")
    export_dir: str = config.export_dir_flag("linear_ae_mnist")
    latent_dim: int = flag(32, "k, the number of principal directions", flags.count(1, 784), model_arg=True)
    l2: float = flag(0.0, "lambda of lambda * (||W1||^2 + ||W2||^2); > 0 orders the principal directions",
                     flags.non_negative, model_arg=True)


PROG = "python -m recipes.linear_ae_mnist"
main = cli.recipe_main(LinearAEMnistConfig, PROG, __doc__)

if __name__ == "__main__":
    cli.run_main(main)
