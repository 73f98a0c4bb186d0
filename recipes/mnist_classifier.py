"""The MNIST classifier behind the sample-quality measures: `python -m recipes.mnist_classifier --help`.

A small CNN on grayscale MNIST; the committed saved_models/mnist_classifier has its test accuracy in
its card. Its `classify` endpoint returns class probabilities and the penultimate features used by
the Fréchet distance (`zoo.metrics.sample_quality`).
"""

import dataclasses

from zoo import cli, config, flags
from zoo.flags import flag


@dataclasses.dataclass
class MnistClassifierConfig(config.TrainConfig):
    """Flags of `python -m recipes.mnist_classifier`."""

    DEFAULTS = {"epochs": 8, "binarization": "none"}

    model: str = "mnist_classifier"
    run_dir: str = config.run_dir_flag("mnist_classifier")
    export_dir: str = config.export_dir_flag("mnist_classifier")
    feature_units: int = flag(128, "width of the penultimate (feature) layer", flags.WIDTHS, model_arg=True)
    dropout: float = flag(0.3, "dropout rate before the output layer", flags.unit_interval_right_open, model_arg=True)


PROG = "python -m recipes.mnist_classifier"
main = cli.recipe_main(MnistClassifierConfig, PROG, __doc__)

if __name__ == "__main__":
    cli.run_main(main)
