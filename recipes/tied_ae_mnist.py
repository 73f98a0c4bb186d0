"""Tied-weight autoencoder on MNIST: `python -m recipes.tied_ae_mnist --help`.

The network of `recipes.ae_mnist` with the decoder using the transposed encoder kernels.
"""

import dataclasses

from recipes.ae_mnist import AutoencoderFlags
from zoo import cli, config
from zoo.flags import flag


@dataclasses.dataclass
class TiedAEMnistConfig(AutoencoderFlags):
    """Flags of `python -m recipes.tied_ae_mnist`."""

    model: str = "tied_ae"
    run_dir: str = config.run_dir_flag("tied_ae_mnist")
    export_dir: str = config.export_dir_flag("tied_ae_mnist")
    arch: str = flag("mlp", "encoder/decoder architecture (tied weights need dense layers)", choices=("mlp",),
                     model_arg=True)


PROG = "python -m recipes.tied_ae_mnist"
main = cli.recipe_main(TiedAEMnistConfig, PROG, __doc__)

if __name__ == "__main__":
    cli.run_main(main)
