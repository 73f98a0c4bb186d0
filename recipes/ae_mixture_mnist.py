"""Generating with a plain autoencoder: `python -m recipes.ae_mixture_mnist --help`.

Loads a trained autoencoder (`--autoencoder`, by default the committed saved_models/ae_mnist), fits a
Gaussian mixture to its codes of the 60,000 training images (ex-post density estimation, Ghosh et
al., 2020), and exports the autoencoder with the mixture inside, so that the artifact's
`sample(num, seed)` decodes draws from the mixture. samples.png shows those draws; the figure
samples_standard_normal.png shows what decoding draws from N(0, I) gives instead. With --data, the codes are of
those images, which the autoencoder must take (one trained on them).
"""

import dataclasses
import json
from pathlib import Path

from zoo import cli, config, flags
from zoo.errors import ZooError
from zoo.flags import flag


@dataclasses.dataclass
class AEMixtureMnistConfig(config.DataFlags):
    """Flags of `python -m recipes.ae_mixture_mnist`: MNIST by default, or other images (--data)."""

    # Images: the figures are; and a table's autoencoder holds the statistics it standardises with outside the
    # encoder and decoder whose weights the mixture model takes.
    DATA_KINDS = ("images",)

    autoencoder: str = flag("saved_models/ae_mnist/model.keras", "model.keras of a trained `ae` autoencoder",
                            flags.keras_archive("zoo.models.ae.AE"))
    components: int = flag(10, "Gaussians in the mixture (full covariance)", flags.count(1, 1000))
    seed: int = flag(0, "seed of the mixture's initialization and of the figures (and of the test part held out of "
                        "data that has none)", flags.SEED)
    run_dir: str = config.run_dir_flag("ae_mixture_mnist")
    export_dir: str = config.export_dir_flag("ae_mixture_mnist")
    binarization: str = "none"  # the data the autoencoder was trained on (recorded in the card)
    train_limit: int = 0


PROG = "python -m recipes.ae_mixture_mnist"


def main(argv=None):
    settings = flags.parse(AEMixtureMnistConfig, argv, prog=PROG, description=__doc__)
    import numpy as np
    import tensorflow as tf

    import zoo
    from zoo import data, export, pipeline, plots, sources
    from zoo.batching import apply_in_batches

    autoencoder = zoo.load(settings.autoencoder)
    if autoencoder.registry_name != "ae":
        raise ZooError(f"--autoencoder must hold an `ae` model; {settings.autoencoder} holds "
                       f"{autoencoder.registry_name!r}")
    dataset = data.pipelines(sources.load_flags(settings, settings.seed), 1000, "none")
    zoo.require_input_shape(f"--autoencoder {settings.autoencoder}", autoencoder.image_shape, settings.data,
                            dataset.input_shape)
    model = zoo.get("ae_mixture", mixture_components=settings.components, **autoencoder.constructor_config())
    model.encoder.set_weights(autoencoder.encoder.get_weights())
    model.decoder.set_weights(autoencoder.decoder.get_weights())
    train, test, labels = dataset.fixed_training_images(dataset.train_size), dataset.test_images, dataset.test_labels
    codes = {name: apply_in_batches(model.encode, images, 1000) for name, images in (("train", train), ("test", test))}
    print(f"fitting a {settings.components}-component Gaussian mixture to {len(codes['train'])} training codes ...")
    train_log_likelihood = model.fit_prior(codes["train"], seed=settings.seed)
    metrics = {"train_codes_log_likelihood_nats": train_log_likelihood,
               "test_codes_log_likelihood_nats": float(np.mean(model.prior().log_prob(codes["test"]).numpy()))}
    for name, value in metrics.items():
        print(f"  {name}: {value:.3f}")
    run_dir = Path(settings.run_dir)
    figures_dir = run_dir / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    figures = [plots.samples(model, test, labels, figures_dir, settings.seed),
               plots.image_grid(model.sample_standard_normal(100, tf.constant([settings.seed, 0])).numpy(), 10,
                                figures_dir / "samples_standard_normal.png",
                                "the same decoder on draws from N(0, I): the codes do not follow it"),
               plots.reconstructions(model, test, labels, figures_dir, settings.seed)]
    if settings.export_dir:
        command = flags.command_line(PROG, argv)
        card = pipeline.card(model, settings, metrics, dataset, command)
        card.update(autoencoder=settings.autoencoder, anomaly=pipeline.anomaly_entry(model, dataset))
        export.export(model, settings.export_dir, card, figures)
        print(f"exported {settings.export_dir}")
    return metrics


if __name__ == "__main__":
    cli.run_main(main)
