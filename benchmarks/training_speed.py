"""Training speed of the zoo's core against plain Keras, in one process on the same cached batches.

    python -m benchmarks.training_speed --data-dir DIR [--families mlp_vae ...] [--steps 300 --repeats 5]

For each family the zoo model is built by the training core (`training.build_model`, the recipe's defaults) and
the reference is written here the keras-io way: its own `train_step`, the same layers (zoo.nets), `compile` and
`fit` with Keras's defaults. A first pass of `--steps` batches compiles and is discarded; then `--repeats` timed
passes alternate between the two, so that both see the same machine state. Also measured in the same run: the
fp32 (and bf16) rate of a 2048x2048x2048 tf.matmul, against which the MLP VAE's rate is put (dense-layer FLOPs
only: 3 x 2 x in x out per layer and image, forward and backward). Writes benchmarks/results/training_speed.json.
"""

import dataclasses
import json
import statistics
import time
from pathlib import Path

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from benchmarks.xla_throughput import _cpu_name
from recipes.vae_mnist import VAEMnistConfig
from zoo import cli, data, flags, nets, training
from zoo.flags import flag

tfd = tfp.distributions
RESULTS = Path(__file__).parent / "results" / "training_speed.json"


class PlainVAE(keras.Model):
    """The keras-io VAE: encoder to (mean, raw scale), one reparameterized draw, Bernoulli decoder, -ELBO."""

    def __init__(self, encoder, decoder, latent_dim):
        super().__init__()
        self.encoder, self.decoder, self.latent_dim = encoder, decoder, latent_dim
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.seed_generator = keras.random.SeedGenerator(0)

    @property
    def metrics(self):
        return [self.loss_tracker]

    def train_step(self, data):
        images = data[0] if isinstance(data, (tuple, list)) else data  # (images, labels) batches
        with tf.GradientTape() as tape:
            mean, raw_scale = tf.split(self.encoder(images), 2, axis=-1)
            posterior = tfd.MultivariateNormalDiag(mean, tf.nn.softplus(raw_scale) + 1e-5)
            codes = mean + posterior.stddev() * keras.random.normal(tf.shape(mean), seed=self.seed_generator)
            likelihood = tfd.Independent(tfd.Bernoulli(logits=self.decoder(codes)), reinterpreted_batch_ndims=3)
            prior = tfd.MultivariateNormalDiag(tf.zeros(self.latent_dim), tf.ones(self.latent_dim))
            loss = tf.reduce_mean(-likelihood.log_prob(images) + tfd.kl_divergence(posterior, prior))
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}


def plain_vae(config):
    model = PlainVAE(nets.encoder(config.arch, (28, 28, 1), 2 * config.latent_dim, config.hidden_units),
                     nets.decoder(config.arch, config.latent_dim, (28, 28, 1), config.hidden_units), config.latent_dim)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
    return model


def dense_flops_per_image(model):
    """3 x 2 x in x out over the Dense layers (forward, and twice that backward), per image."""
    total = 0
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.Dense):
            total += 3 * 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
    return total


FAMILIES = {
    "mlp_vae": (VAEMnistConfig, {}, plain_vae),
    "conv_vae": (VAEMnistConfig, {"arch": "conv", "hidden_units": (256,)}, plain_vae),
}


@dataclasses.dataclass
class TrainingSpeedConfig:
    """Flags of `python -m benchmarks.training_speed`."""

    data_dir: str = flag(None, "directory of the MNIST IDX files", flags.existing_dir)
    families: tuple = flag(tuple(FAMILIES), "families to time", choices=tuple(FAMILIES), type=str)
    steps: int = flag(300, "training steps per timed pass", flags.count(10, 100_000))
    repeats: int = flag(5, "timed passes of each (alternating)", flags.count(1, 100))


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


def main(argv=None):
    settings = flags.parse(TrainingSpeedConfig, argv, prog="python -m benchmarks.training_speed", description=__doc__)
    rates = {"float32": matmul_rate(tf.float32), "bfloat16": matmul_rate(tf.bfloat16)}
    results = {"cpu": _cpu_name(), "command": flags.command_line("python -m benchmarks.training_speed", argv),
               "matmul_gflops": {k: round(v) for k, v in rates.items()}, "families": {}}
    for family in settings.families:
        config_cls, changes, reference = FAMILIES[family]
        config = dataclasses.replace(config_cls(data_dir=settings.data_dir), **changes)
        dataset = data.mnist(config.batch_size, config.binarization, config.data_dir, config.seed)
        batches = dataset.train.take(settings.steps).cache()
        for _ in batches:  # both read the same batches from memory
            pass
        images = settings.steps * config.batch_size
        has_gpu = bool(tf.config.list_physical_devices("GPU"))
        keras.mixed_precision.set_global_policy(training.precision_policy(config.precision, has_gpu))
        zoo_model = training.build_model(config, tf.distribute.get_strategy(), settings.steps,
                                         training._use_xla(config.xla, has_gpu))
        models = {"zoo": zoo_model, "plain_keras": reference(config)}
        for model in models.values():
            timed_pass(model, batches, images)
        passes = {name: [] for name in models}
        for _ in range(settings.repeats):
            for name, model in models.items():
                passes[name].append(timed_pass(model, batches, images))
        median = {name: statistics.median(values) for name, values in passes.items()}
        flops = dense_flops_per_image(zoo_model)
        results["families"][family] = {
            "batch_size": config.batch_size, "images_per_s": {k: [round(v) for v in vs] for k, vs in passes.items()},
            "median_images_per_s": {k: round(v) for k, v in median.items()},
            "zoo_over_plain_keras": round(median["zoo"] / median["plain_keras"], 3),
            "dense_flops_per_image": flops,
            "fraction_of_fp32_matmul_rate": round(median["zoo"] * flops / 1e9 / rates["float32"], 3)}
        print(f"{family}: zoo {median['zoo']:.0f} images/s, plain Keras {median['plain_keras']:.0f} "
              f"({median['zoo'] / median['plain_keras']:.2f}x); dense layers at "
              f"{median['zoo'] * flops / 1e9:.0f} GFLOP/s of the {rates['float32']:.0f} of an fp32 matmul", flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"{results['cpu']}; wrote {RESULTS}")


if __name__ == "__main__":
    cli.run_main(main)
