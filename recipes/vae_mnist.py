"""Variational autoencoder on MNIST: `python -m recipes.vae_mnist --help`.

With no flags: a small MLP VAE, 20 epochs of batches of 500 (about three minutes on 2 CPU cores, evaluation
included). The flagship artifact in saved_models/vae_mnist was trained with the flags in its card.json.
"""

import dataclasses

from zoo import cli, config, flags
from zoo.flags import flag


@dataclasses.dataclass
class VAEMnistConfig(config.TrainConfig):
    """Flags of `python -m recipes.vae_mnist`: the shared training flags plus the VAE's own."""

    # Batches of 500 keep the 2 CPU cores at their matmul rate (batches of 100 reach a third of it); a higher
    # peak learning rate and more epochs end at a better likelihood in less time (benchmarks/default_recipe.py).
    DEFAULTS = {"epochs": 20, "batch_size": 500, "learning_rate": 3e-3}

    model: str = "vae"
    run_dir: str = config.run_dir_flag("vae_mnist")
    export_dir: str = config.export_dir_flag("vae_mnist")
    latent_dim: int = flag(32, "size of the latent code z", flags.WIDTHS, model_arg=True)
    arch: str = flag("mlp", "encoder/decoder architecture", choices=config.ARCHITECTURES, model_arg=True)
    hidden_units: tuple = flag((512, 512), "widths of the hidden layers", flags.WIDTHS, model_arg=True)
    beta: float = flag(1.0, "weight on the KL term (1 = VAE, otherwise beta-VAE)", flags.non_negative, model_arg=True)
    importance_samples: int = flag(1, "k of the importance-weighted (IWAE) objective; 1 = the ELBO",
                                   flags.count(1, 10_000), model_arg=True)

    gradient_estimator: str = flag("reparameterization", "gradient of the bound: the pathwise one or 'dreg', the "
                                                        "doubly reparameterized one (Tucker et al. 2019; needs beta 1)",
                                   choices=("reparameterization", "dreg"), model_arg=True)
    kl_warmup_steps: int = flag(0, "training steps over which the weight on the latent terms rises from 0 to 1 (KL "
                                   "warm-up, which keeps more latent units active; 0 = none; one epoch is 60000 / "
                                   "--batch-size steps)", flags.count(0, 10_000_000), model_arg=True)
    likelihood: str = flag("auto", "p(x | z): bernoulli for inputs in [0, 1]; gaussian (a learned scale per pixel or "
                                   "feature) or gaussian_fixed (unit scale) for real values; auto = gaussian for a "
                                   "table, bernoulli for images", choices=("auto", *config.LIKELIHOODS), model_arg=True)


PROG = "python -m recipes.vae_mnist"
main = cli.recipe_main(VAEMnistConfig, PROG, __doc__)

if __name__ == "__main__":
    cli.run_main(main)
