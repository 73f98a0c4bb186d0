"""Sparse autoencoder on MNIST: `python -m recipes.sparse_ae_mnist --help`.

256 sigmoid code units after a 512-unit hidden layer, pushed towards a mean activation rho by the
penalty beta * sum_l KL(rho || rho_hat_l).
"""

import dataclasses

from recipes.ae_mnist import AutoencoderFlags
from zoo import cli, config, flags
from zoo.flags import flag


@dataclasses.dataclass
class SparseAEMnistConfig(AutoencoderFlags):
    """Flags of `python -m recipes.sparse_ae_mnist`."""

    model: str = "sparse_ae"
    run_dir: str = config.run_dir_flag("sparse_ae_mnist")
    export_dir: str = config.export_dir_flag("sparse_ae_mnist")
    latent_dim: int = flag(256, "number of sigmoid code units", flags.WIDTHS, model_arg=True)
    rho: float = flag(0.05, "target mean activation of each code unit, in (0, 1)", flags.open_unit_interval,
                      model_arg=True)
    sparsity_weight: float = flag(10.0, "beta, the weight of the KL sparsity penalty", flags.non_negative,
                                  model_arg=True)


PROG = "python -m recipes.sparse_ae_mnist"
main = cli.recipe_main(SparseAEMnistConfig, PROG, __doc__)

if __name__ == "__main__":
    cli.run_main(main)
