"""The deterministic autoencoder: encoder x -> h, decoder h -> x_hat (Rumelhart et al., 1986; Hinton &
Salakhutdinov, 2006), dense or convolutional, of any depth, with a code smaller (undercomplete) or
larger (overcomplete) than the input, and an optional L2 penalty lambda * ||theta||^2 on the weights.

The output and the loss follow the input: `output_activation="sigmoid"` gives binary cross-entropy (nats per
image) for inputs in [0, 1]; `output_activation="linear"` squared error (summed over pixels or features, per
input) for real values, such as the rows of a table (with `standardize=True`, of the standardized values: see
zoo.models.base). The other classic variants (linear = PCA,
tied, sparse, denoising, contractive) subclass this one and override only what differs.
"""

import keras
import tensorflow as tf

from zoo import config, nets
from zoo.config import CODE_ACTIVATIONS, OUTPUT_ACTIVATIONS
from zoo.losses import l2_penalty, per_image_error
from zoo.models.base import Autoencoder
from zoo.registry import register


def mean_image(dataset, images_of=lambda batch: batch):
    """The mean input (image or row) over the batches of `dataset`, accumulated in float64."""
    total, count = 0.0, 0
    for batch in dataset:
        images = tf.cast(images_of(batch), tf.float64)
        total += tf.reduce_sum(images, axis=0)
        count += int(images.shape[0])
    return tf.cast(total / count, tf.float32)


@register("ae")
@keras.saving.register_keras_serializable("zoo")
class AE(Autoencoder):
    """Autoencoder with a deterministic code, the reconstruction loss its output calls for, and optional L2.

    Metrics: loss = reconstruction + l2 (+ the penalties of a subclass); reconstruction in nats per image
    for the sigmoid output, squared error per image for the linear one; l2 = lambda * sum of squared
    kernel entries (biases excluded).

    Args:
      latent_dim: size of the code h (under 784: undercomplete; over: overcomplete).
      arch: "mlp" (dense) or "conv" (convolutional), see `zoo.nets`.
      hidden_units: widths of the hidden layers, mirrored by the decoder; more entries, a deeper network.
      output_activation: "sigmoid" (binary cross-entropy, inputs in [0, 1]) or "linear" (squared error, real inputs;
        needed with standardize).
      code_activation: activation of the code layer.
      l2: lambda of the weight penalty lambda * ||theta||^2 (0: none).
      **kwargs: image_shape, seed, standardize and keras.Model arguments.
    """

    loss_names = ("loss", "reconstruction", "l2")
    ENDPOINTS = Autoencoder.ENDPOINTS + ("score",)
    evaluation = "reconstruction"

    def __init__(self, latent_dim=32, arch="mlp", hidden_units=(512,), output_activation="sigmoid",
                 code_activation="linear", l2=0.0, **kwargs):
        super().__init__(**kwargs)
        if int(latent_dim) <= 0:
            raise ValueError(f"latent_dim must be a positive integer; received latent_dim={latent_dim}")
        if output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"output_activation must be one of {OUTPUT_ACTIVATIONS}; "
                             f"received output_activation={output_activation!r}")
        if code_activation not in CODE_ACTIVATIONS:
            raise ValueError(f"code_activation must be one of {CODE_ACTIVATIONS}; received {code_activation!r}")
        if not l2 >= 0:
            raise ValueError(f"l2 must be >= 0; received l2={l2}")
        problem = config.arguments_problem(dict(standardize=self.standardize, output_activation=output_activation))
        if problem:
            raise ValueError(problem)
        self.latent_dim = int(latent_dim)
        self.arch = arch
        self.hidden_units = tuple(int(units) for units in hidden_units)
        self.output_activation = output_activation
        self.code_activation = code_activation
        self.l2 = float(l2)
        self.encoder, self.decoder = self.build_networks()
        self.built = True

    @property
    def real_valued(self):
        return self.output_activation == "linear"

    @property
    def pixel_inputs(self):
        """Whether the inputs are pixels in [0, 1]: images [H, W, C], not standardized."""
        return len(self.image_shape) == 3 and not self.standardize

    def in_pixel_range(self, values):
        """Reconstructions of pixels clipped to [0, 1] (`pixel_inputs`); of other inputs, as they are."""
        return tf.clip_by_value(values, 0.0, 1.0) if self.pixel_inputs else values

    def build_networks(self):
        """(encoder, decoder): images -> code pre-activations, codes -> per-pixel outputs before the output link."""
        return (nets.encoder(self.arch, self.image_shape, self.latent_dim, self.hidden_units),
                nets.decoder(self.arch, self.latent_dim, self.image_shape, self.hidden_units))

    def output_bias(self):
        """The bias variable of the decoder's output layer (per pixel for dense decoders, per channel for conv)."""
        return self.decoder.layers[-1].bias if self.arch == "conv" else self.decoder.layers[-2].bias

    def initialize_from(self, dataset):
        """Initializes the output bias to the mean training input, through the inverse of the output link.

        Without it, Adam makes the code units stand in for the output bias: sigmoid codes saturate at 1
        and the model collapses to reconstructing the mean image. `dataset` yields inputs or (inputs, labels) in
        model units (`adapt` passes them standardized when the model standardizes).
        """
        mean = mean_image(dataset, self.images_of)
        if self.output_activation == "sigmoid":
            mean = tf.math.log(mean + 1e-3) - tf.math.log(1.0 - mean + 1e-3)
        bias = self.output_bias()
        bias.assign(tf.reduce_mean(tf.reshape(mean, [-1, bias.shape[0]]), axis=0))

    def encode(self, images):
        return keras.activations.get(self.code_activation)(tf.cast(self.encoder(images), tf.float32))

    def decode_raw(self, codes):
        """The decoder's output before the output link: logits (sigmoid output) or the reconstruction (linear)."""
        return tf.cast(self.decoder(codes), tf.float32)

    def decode(self, codes):
        """Reconstructions: sigmoid probabilities, or the linear output (`in_pixel_range`)."""
        raw = self.decode_raw(codes)
        return tf.sigmoid(raw) if self.output_activation == "sigmoid" else self.in_pixel_range(raw)

    def decode_outputs(self, codes):
        raw = self.decode_raw(codes)
        if self.output_activation == "sigmoid":
            return {"probs": tf.sigmoid(raw), "logits": raw}
        mean = self.raw(raw)
        return {"probs": self.in_pixel_range(mean), "mean": mean}

    def training_inputs(self, images):
        """What the encoder sees in a training step (the denoising AE corrupts here)."""
        return images

    def extra_terms(self, inputs, codes):
        """(penalties added to the loss, diagnostics only reported), each {name: scalar}; none here."""
        return {}, {}

    def encode_with_terms(self, inputs):
        """(codes, extra_terms): a variant whose terms need the encoding itself (its Jacobian) overrides this."""
        codes = self.encode(inputs)
        return codes, self.extra_terms(inputs, codes)

    def weight_penalty(self):
        return l2_penalty([v for v in self.trainable_variables if v.name == "kernel"], self.l2)

    def compute_losses(self, images, training=False):
        inputs = self.training_inputs(images) if training else images
        codes, (penalties, diagnostics) = self.encode_with_terms(inputs)
        reconstruction = tf.reduce_mean(per_image_error(self.output_activation, images, self.decode_raw(codes)))
        l2 = self.weight_penalty()
        loss = tf.add_n([reconstruction, l2, *penalties.values()])
        return {"loss": loss, "reconstruction": reconstruction, "l2": l2, **penalties, **diagnostics}

    def reconstruction_error(self, images):
        """Reconstruction error of each image [b]: cross-entropy in nats (sigmoid output) or squared error."""
        return per_image_error(self.output_activation, images, self.decode_raw(self.encode(images)))

    def anomaly_score(self, images):
        """The `score` endpoint: each image's reconstruction error."""
        return self.reconstruction_error(images)

    @property
    def anomaly_score_description(self):
        return ("reconstruction error: binary cross-entropy in nats" if self.output_activation == "sigmoid"
                else "reconstruction error: squared error summed over pixels or features")

    def endpoints(self):
        return {**super().endpoints(), "score": self.score_endpoint()}

    def get_config(self):
        config = super().get_config()
        config.update(latent_dim=self.latent_dim, arch=self.arch, hidden_units=list(self.hidden_units),
                      output_activation=self.output_activation, code_activation=self.code_activation, l2=self.l2)
        return config
