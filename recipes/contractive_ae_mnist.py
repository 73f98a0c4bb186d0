"""Contractive autoencoder on MNIST: `python -m recipes.contractive_ae_mnist --help`.

The network of `recipes.ae_mnist` with sigmoid code units and the penalty lambda * ||J_x(h)||_F^2,
estimated with random vector-Jacobian products; `--hidden-units` with no value gives the one-layer
encoder of Rifai et al. (2011), where the penalty's closed form is used.
"""

import dataclasses

from recipes.ae_mnist import AutoencoderFlags
from zoo import cli, config, flags
from zoo.flags import flag


@dataclasses.dataclass
class ContractiveAEMnistConfig(AutoencoderFlags):
    """Flags of `python -m recipes.contractive_ae_mnist`."""

    model: str = "contractive_ae"
    run_dir: str = config.run_dir_flag("contractive_ae_mnist")
    export_dir: str = config.export_dir_flag("contractive_ae_mnist")
    contraction_weight: float = flag(0.1, "lambda, the weight of the Jacobian penalty", flags.non_negative,
                                     model_arg=True)
    jacobian_projections: int = flag(1, "random projections per image in the penalty's estimate (deep encoders)",
                                     flags.count(1, 1000), model_arg=True)


PROG = "python -m recipes.contractive_ae_mnist"
main = cli.recipe_main(ContractiveAEMnistConfig, PROG, __doc__)

if __name__ == "__main__":
    cli.run_main(main)
