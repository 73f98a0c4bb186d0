"""Training speed of the zoo's core against plain Keras, in one process on the same cached batches.

    python -m benchmarks.training_speed --data-dir DIR [--families mlp_vae ...] [--steps 300 --repeats 5]
        [--batch-sizes 64 128 ...] [--no-sweep] [--out FILE]

For each family the zoo model is built as the training core builds it (the recipe's defaults; the speed settings
`training.speed_settings` chooses on this machine, cached as a recipe caches them; several steps per compiled call) and
the reference is written here the keras-io way: its own `train_step`, the same layers (zoo.nets, or the GAN's own
networks) and loss, `compile` with only the optimizer(s) set and `fit` with Keras's defaults. A first pass of
`--steps` batches compiles and is discarded; then `--repeats` timed passes alternate between the two, so that both
see the same machine state. Also measured in the same run: the fp32 (and bf16) rate of a 2048x2048x2048 tf.matmul,
against which each family's rate is put (FLOPs of the Dense, Conv2D and Conv2DTranspose layers only, forward and
backward: see `training_flops_per_image`). Then the MLP VAE, zoo and plain Keras, at each of `--batch-sizes` with
about as many images a pass as at its default batch size. Writes benchmarks/results/training_speed.json (`--out`)
and, beside it, the sweep's plot training_speed_batch_size.png.
"""

import dataclasses
import math
import os
import statistics
import time
from pathlib import Path

import keras
import matplotlib
import tensorflow as tf
import tensorflow_probability as tfp

from recipes.ae_mnist import AEMnistConfig
from recipes.cvae_mnist import CVAEMnistConfig
from recipes.gan_mnist import GANMnistConfig
from recipes.vae_mnist import VAEMnistConfig
from benchmarks import write_results
from zoo import cli, data, flags, nets, speed, training
from zoo.config import IMAGE_SHAPE
from zoo.flags import flag
from zoo.models import gan

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

tfd = tfp.distributions
RESULTS = Path(__file__).parent / "results" / "training_speed.json"
SWEEP_PLOT = "training_speed_batch_size.png"
SWEEP_MIN_STEPS = 5  # batches a sweep pass takes at the least, so that fit's fixed cost stays small beside them
DIGITS = 10


class PlainModel(keras.Model):
    """What the keras-io references share: a Mean tracker per reported loss, a seed stream, one gradient step."""

    def __init__(self, *loss_names):
        super().__init__()
        self.trackers = [keras.metrics.Mean(name=name) for name in loss_names]
        self.seed_generator = keras.random.SeedGenerator(0)

    @property
    def metrics(self):
        return self.trackers

    @staticmethod
    def descend(tape, loss, variables, optimizer):
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

    def report(self, *losses):
        for tracker, loss in zip(self.trackers, losses):
            tracker.update_state(loss)
        return {tracker.name: tracker.result() for tracker in self.trackers}


class PlainAE(PlainModel):
    """The keras-io autoencoder: images -> code -> logits, binary cross-entropy summed over the pixels."""

    def __init__(self, encoder, decoder):
        super().__init__("loss")
        self.encoder, self.decoder = encoder, decoder

    def train_step(self, data):
        images, _ = data
        with tf.GradientTape() as tape:
            logits = self.decoder(self.encoder(images))
            pixel_losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=images, logits=logits)
            loss = tf.reduce_mean(tf.reduce_sum(pixel_losses, axis=[1, 2, 3]))
        self.descend(tape, loss, self.trainable_variables, self.optimizer)
        return self.report(loss)


class PlainVAE(PlainModel):
    """The keras-io VAE: encoder to (mean, raw scale), one reparameterized draw, Bernoulli decoder, -ELBO."""

    def __init__(self, encoder, decoder, latent_dim):
        super().__init__("loss")
        self.encoder, self.decoder, self.latent_dim = encoder, decoder, latent_dim

    def encoder_input(self, images, labels):
        return images

    def decoder_input(self, codes, labels):
        return codes

    def train_step(self, data):
        images, labels = data
        with tf.GradientTape() as tape:
            mean, raw_scale = tf.split(self.encoder(self.encoder_input(images, labels)), 2, axis=-1)
            posterior = tfd.MultivariateNormalDiag(mean, tf.nn.softplus(raw_scale) + 1e-5)
            codes = mean + posterior.stddev() * keras.random.normal(tf.shape(mean), seed=self.seed_generator)
            logits = self.decoder(self.decoder_input(codes, labels))
            likelihood = tfd.Independent(tfd.Bernoulli(logits=logits), reinterpreted_batch_ndims=3)
            prior = tfd.MultivariateNormalDiag(tf.zeros(self.latent_dim), tf.ones(self.latent_dim))
            loss = tf.reduce_mean(-likelihood.log_prob(images) + tfd.kl_divergence(posterior, prior))
        self.descend(tape, loss, self.trainable_variables, self.optimizer)
        return self.report(loss)


class PlainCVAE(PlainVAE):
    """The VAE above with the one-hot digit appended to the flattened image and to the code (mlp networks)."""

    def encoder_input(self, images, labels):
        return tf.concat([tf.reshape(images, [tf.shape(images)[0], -1]), tf.one_hot(labels, DIGITS)], axis=-1)

    def decoder_input(self, codes, labels):
        return tf.concat([codes, tf.one_hot(labels, DIGITS)], axis=-1)


class PlainGAN(PlainModel):
    """The keras-io DCGAN step with zoo.models.gan's losses: a discriminator update on the real batch and as many
    generated images, then a generator update on fresh codes with the non-saturating loss -log D(G(z))."""

    def __init__(self, generator, discriminator, latent_dim):
        super().__init__("d_loss", "g_loss")
        self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def fake_logits(self, count):
        codes = keras.random.normal((count, self.latent_dim), seed=self.seed_generator)
        return self.discriminator(tf.sigmoid(self.generator(codes, training=True)), training=True)[:, 0]

    def train_step(self, data):
        images, _ = data
        count = tf.shape(images)[0]
        with tf.GradientTape() as tape:  # log D(x) = -softplus(-logit), log(1 - D(x)) = -softplus(logit)
            real_logits, fake_logits = self.discriminator(images, training=True)[:, 0], self.fake_logits(count)
            d_loss = tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))
        self.descend(tape, d_loss, self.discriminator.trainable_variables, self.d_optimizer)
        with tf.GradientTape() as tape:
            g_loss = tf.reduce_mean(tf.nn.softplus(-self.fake_logits(count)))
        self.descend(tape, g_loss, self.generator.trainable_variables, self.g_optimizer)
        return self.report(d_loss, g_loss)


def autoencoder_networks(config, output_dim, condition_dim=0):
    """(encoder, decoder) as the zoo model's build_networks makes them; with a condition (the CVAE's one-hot digit,
    mlp only) the encoder takes it beside the flattened image and the decoder beside the code."""
    if condition_dim and config.arch != "mlp":
        raise ValueError(f"the plain conditional reference is written for the mlp networks; received {config.arch!r}")
    encoder_shape = (math.prod(IMAGE_SHAPE) + condition_dim,) if condition_dim else IMAGE_SHAPE
    return (nets.encoder(config.arch, encoder_shape, output_dim, config.hidden_units),
            nets.decoder(config.arch, config.latent_dim + condition_dim, IMAGE_SHAPE, config.hidden_units))


def adam_compiled(model, config):
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
    return model


def plain_ae(config):
    return adam_compiled(PlainAE(*autoencoder_networks(config, config.latent_dim)), config)


def plain_vae(config):
    return adam_compiled(PlainVAE(*autoencoder_networks(config, 2 * config.latent_dim), config.latent_dim), config)


def plain_cvae(config):
    networks = autoencoder_networks(config, 2 * config.latent_dim, DIGITS)
    return adam_compiled(PlainCVAE(*networks, config.latent_dim), config)


def plain_gan(config):
    model = PlainGAN(gan._generator(config.latent_dim, IMAGE_SHAPE, config.filters),
                     gan._discriminator(IMAGE_SHAPE, config.filters), config.latent_dim)
    # The zoo's players both use Adam with beta_1 = 0.5 (DCGAN); the same optimizers here.
    model.compile(d_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=0.5),
                  g_optimizer=keras.optimizers.Adam(config.learning_rate, beta_1=0.5))
    return model


def forward_flops(network):
    """FLOPs of one image's forward pass through the Dense, Conv2D and Conv2DTranspose layers of `network` (the rest,
    activations, normalization and losses, is left out): 2 x in x out per Dense layer; 2 x kh x kw x in_ch x out_ch
    per output position of a Conv2D; the same per *input* position of a Conv2DTranspose, where each input pixel is
    multiplied into a kh x kw x out_ch patch (counting its output positions would count stride^2 times its work)."""
    total = 0
    for layer in network._flatten_layers():
        if isinstance(layer, keras.layers.Dense):
            total += 2 * math.prod(layer.kernel.shape)
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            total += 2 * math.prod(layer.kernel.shape) * math.prod(layer.input.shape[1:3])
        elif isinstance(layer, keras.layers.Conv2D):
            total += 2 * math.prod(layer.kernel.shape) * math.prod(layer.output.shape[1:3])
    return total


def training_flops_per_image(model):
    """Dense and conv FLOPs of one training step per image of the batch. A backward pass costs twice the forward
    (gradients of the inputs and of the weights), so an autoencoder's step is 3 x its forward pass.

    A GAN step (zoo.models.gan.GAN.train_step) runs per image: in the discriminator update, G forward once (the
    generated image; no gradient flows into G) and D forward and backward on the real and on the generated image
    (2 x 3 x D); in the generator update, G forward and backward (3 x G) and D forward and backward to its input
    only, as D's weight gradients are not asked for (2 x D). In all 4 x G + 8 x D (slightly high: the backward pass
    on the real image needs no gradient of D's input)."""
    if isinstance(model, gan.GAN):
        return 4 * forward_flops(model.generator) + 8 * forward_flops(model.discriminator)
    return 3 * forward_flops(model)


FAMILIES = {  # name: (recipe config class, changes to its defaults, plain Keras reference)
    "mlp_vae": (VAEMnistConfig, {}, plain_vae),
    "conv_vae": (VAEMnistConfig, {"arch": "conv", "hidden_units": (256,)}, plain_vae),
    "mlp_ae": (AEMnistConfig, {}, plain_ae),
    "conv_ae": (AEMnistConfig, {"arch": "conv"}, plain_ae),
    "gan": (GANMnistConfig, {}, plain_gan),
    "cvae": (CVAEMnistConfig, {}, plain_cvae),
}


@dataclasses.dataclass
class TrainingSpeedConfig:
    """Flags of `python -m benchmarks.training_speed`."""

    data_dir: str = flag(None, "directory of the MNIST IDX files", flags.existing_dir)
    families: tuple = flag(tuple(FAMILIES), "families to time", choices=tuple(FAMILIES), type=str)
    steps: int = flag(300, "training steps per timed pass", flags.count(10, 100_000))
    repeats: int = flag(5, "timed passes of each (alternating)", flags.count(1, 100))
    batch_sizes: tuple = flag((64, 128, 256, 512, 1024), "batch sizes at which to time the MLP VAE, zoo and plain "
                              "Keras", flags.BATCH_SIZE)
    sweep: bool = flag(True, "time the batch sizes (--no-sweep: the families only)")
    out: str = flag(str(RESULTS), "results JSON; the batch-size plot goes beside it")


def matmul_rate(dtype, size=2048, repeats=10):
    """GFLOP/s of a size^3 tf.matmul in `dtype`, the best of five runs of `repeats` products."""
    a = tf.cast(tf.random.normal([size, size]), dtype)
    product = tf.function(lambda x: tf.matmul(x, x))
    product(a).numpy()
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            result = product(a)
        result.numpy()
        best = max(best, repeats * 2 * size ** 3 / (time.perf_counter() - start) / 1e9)
    return best


def timed_pass(model, batches, images):
    start = time.perf_counter()
    model.fit(batches, epochs=1, verbose=0)
    return images / (time.perf_counter() - start)


def family_config(family, data_dir, **changes):
    config_cls, defaults, _ = FAMILIES[family]
    return dataclasses.replace(config_cls(data_dir=data_dir), **{**defaults, **changes})


def time_pair(config, reference, steps, repeats):
    """({"zoo": images/s of each timed pass, "plain_keras": ...}, {name: jit_compile}, the zoo model)."""
    dataset = data.mnist(config.batch_size, config.binarization, config.data_dir, config.seed)
    batches = dataset.train.take(steps).cache()
    images = sum(int(labels.shape[0]) for _, labels in batches)  # fills the cache: both read these from memory
    # The zoo model as the training core builds it: the speed settings it chooses on this machine (measured once and
    # cached, as a recipe does) and several steps per compiled call; the reference with Keras's defaults.
    strategy = tf.distribute.get_strategy()
    settings = training.speed_settings(config, strategy, dataset, steps)
    print(speed.describe(settings), flush=True)
    keras.mixed_precision.set_global_policy(settings["precision"])
    zoo_model = training.build_model(config, strategy, steps, settings["xla"], training.steps_per_execution(steps))
    keras.mixed_precision.set_global_policy("float32")
    models = {"zoo": zoo_model, "plain_keras": reference(config)}
    for model in models.values():
        timed_pass(model, batches, images)
    passes = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            passes[name].append(timed_pass(model, batches, images))
    return passes, {name: bool(model.jit_compile) for name, model in models.items()}, zoo_model


def summary(passes, jit_compile, flops, fp32_rate):
    """The results entry of one timed pair, and its printed line."""
    median = {name: statistics.median(values) for name, values in passes.items()}
    ratio = median["zoo"] / median["plain_keras"]
    entry = {"images_per_s": {k: [round(v) for v in vs] for k, vs in passes.items()},
             "median_images_per_s": {k: round(v) for k, v in median.items()},
             "zoo_over_plain_keras": round(ratio, 3), "jit_compile": jit_compile,
             "dense_and_conv_flops_per_image": flops,
             "fraction_of_fp32_matmul_rate": round(median["zoo"] * flops / 1e9 / fp32_rate, 3)}
    line = (f"zoo {median['zoo']:.0f} images/s, plain Keras {median['plain_keras']:.0f} ({ratio:.2f}x); dense and "
            f"conv layers at {median['zoo'] * flops / 1e9:.0f} GFLOP/s of the {fp32_rate:.0f} of an fp32 matmul")
    return entry, line


def batch_size_sweep(settings, fp32_rate):
    """The MLP VAE, zoo and plain Keras, at each of `settings.batch_sizes`; each pass takes about as many images
    as `settings.steps` batches of the default size (at least SWEEP_MIN_STEPS batches)."""
    images_per_pass = settings.steps * family_config("mlp_vae", settings.data_dir).batch_size
    rows = []
    for batch_size in settings.batch_sizes:
        config = family_config("mlp_vae", settings.data_dir, batch_size=batch_size)
        steps = max(SWEEP_MIN_STEPS, round(images_per_pass / batch_size))
        passes, jit_compile, zoo_model = time_pair(config, plain_vae, steps, settings.repeats)
        entry, line = summary(passes, jit_compile, training_flops_per_image(zoo_model), fp32_rate)
        rows.append({"batch_size": batch_size, "steps": steps, **entry})
        print(f"mlp_vae at batch size {batch_size} ({steps} steps): {line}", flush=True)
    return {"family": "mlp_vae", "images_per_pass": images_per_pass, "plot": SWEEP_PLOT, "rows": rows}


def plot_sweep(rows, cpu, path):
    """Images/s against batch size (log2 axis): the median pass of each, the range of the passes shaded."""
    sizes = [row["batch_size"] for row in rows]
    fig, ax = plt.subplots(figsize=(5.6, 4))
    for name, label in (("zoo", "zoo (training.build_model)"), ("plain_keras", "plain Keras (keras-io train_step)")):
        ax.plot(sizes, [row["median_images_per_s"][name] for row in rows], marker="o", linewidth=1.2, label=label)
        ax.fill_between(sizes, [min(row["images_per_s"][name]) for row in rows],
                        [max(row["images_per_s"][name]) for row in rows], alpha=0.15)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(size) for size in sizes])
    ax.minorticks_off()
    ax.set_ylim(bottom=0)
    ax.set_xlabel("batch size")
    ax.set_ylabel("training images/s (median pass)")
    ax.set_title(f"MLP VAE training speed against batch size\n{cpu}, {os.cpu_count()} cores", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None):
    settings = flags.parse(TrainingSpeedConfig, argv, prog="python -m benchmarks.training_speed", description=__doc__)
    out = Path(settings.out)
    rates = {"float32": matmul_rate(tf.float32), "bfloat16": matmul_rate(tf.bfloat16)}
    results = {"cpu": speed.cpu_model(), "command": flags.command_line("python -m benchmarks.training_speed", argv),
               "matmul_gflops": {k: round(v) for k, v in rates.items()}, "families": {}}
    for family in settings.families:
        config = family_config(family, settings.data_dir)
        passes, jit_compile, zoo_model = time_pair(config, FAMILIES[family][2], settings.steps, settings.repeats)
        entry, line = summary(passes, jit_compile, training_flops_per_image(zoo_model), rates["float32"])
        results["families"][family] = {"batch_size": config.batch_size, **entry}
        print(f"{family}: {line}", flush=True)
    results["batch_size_sweep"] = batch_size_sweep(settings, rates["float32"]) if settings.sweep else None
    out.parent.mkdir(parents=True, exist_ok=True)
    if results["batch_size_sweep"]:
        print(f"wrote {plot_sweep(results['batch_size_sweep']['rows'], results['cpu'], out.parent / SWEEP_PLOT)}")
    write_results(out, results)
    print(f"{results['cpu']}; wrote {out}")


if __name__ == "__main__":
    cli.run_main(main)
