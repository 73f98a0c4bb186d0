"""Denoising autoencoder on MNIST: `python -m recipes.denoising_ae_mnist --help`.

The network of `recipes.ae_mnist`, trained to restore clean digits from corrupted ones (masking noise
with q = 0.5 by default). The figures show corrupted, restored and clean test digits.
"""

import dataclasses

from recipes.ae_mnist import AutoencoderFlags
from zoo import cli, config
from zoo.flags import flag

@dataclasses.dataclass
class DenoisingAEMnistConfig(AutoencoderFlags):
    """Flags of `python -m recipes.denoising_ae_mnist`."""

    model: str = "denoising_ae"
    run_dir: str = config.run_dir_flag("denoising_ae_mnist")
    export_dir: str = config.export_dir_flag("denoising_ae_mnist")
    corruption: str = flag("masking", "corruption applied in training only", choices=tuple(config.CORRUPTION_LEVELS),
                           model_arg=True)
    noise_level: float = flag(0.5, "q of masking (each pixel zeroed with probability q), sigma of gaussian, "
                                   "the fraction of pixels of salt_and_pepper, or the largest q and sigma of mixed "
                                   "(see zoo/corruptions.py)", model_arg=True)


PROG = "python -m recipes.denoising_ae_mnist"
main = cli.recipe_main(DenoisingAEMnistConfig, PROG, __doc__)

if __name__ == "__main__":
    cli.run_main(main)
