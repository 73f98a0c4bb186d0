"""The Ladder network of Rasmus, Berglund, Honkala, Valpola & Raiko (2015, "Semi-supervised learning with ladder
networks"), permutation-invariant: an MLP classifier whose every layer is also denoised by a decoder, as in the paper
and its reference implementation (github.com/CuriousAI/ladder, `ladder.py`, decoder "gauss").

Encoder (shared by two passes), layer l = 1..L, with h(0) the flattened input:
    z(l) = batchnorm(W(l) h(l-1))             normalised with the batch's own statistics, no learned scale
    h(l) = relu(z(l) + beta(l))               hidden layers
    h(L) = softmax(gamma * (z(L) + beta(L)))  the top
The corrupted pass adds N(0, noise_std^2) to the input and to every z(l) (z~); the clean pass adds nothing (z).
Decoder, from the top down: u(L) = batchnorm(h~(L)), u(l) = batchnorm(V(l) z^(l+1)) below, and
z^(l) = g(z~(l), u(l)), the "vanilla" combinator (`vanilla_combinator`). The cost of layer l is the mean over rows
of ||z^(l)_BN - z(l)||^2 / width(l), where z^_BN is z^ normalised by the clean pass's statistics of that layer (the
input layer's z^ as it is).
"""

import keras
import numpy as np
import tensorflow as tf

from zoo import signatures
from zoo.models.base import ZooModel
from zoo.registry import register

# The variance floor of the normalisations (the reference implementation's).
EPSILON = 1e-10
COMBINATOR_PARAMETERS = 10


def vanilla_combinator(z_noisy, u, a):
    """The paper's g (its eq. 2): z^ = (z~ - mu(u)) * v(u) + mu(u), per unit, where
    mu(u) = a1 sigmoid(a2 u + a3) + a4 u + a5 and v(u) = a6 sigmoid(a7 u + a8) + a9 u + a10.
    `z_noisy` and `u` are [b, width], `a` is [10, width] (rows a1..a10)."""
    mu = a[0] * tf.sigmoid(a[1] * u + a[2]) + a[3] * u + a[4]
    v = a[5] * tf.sigmoid(a[6] * u + a[7]) + a[8] * u + a[9]
    return (z_noisy - mu) * v + mu


def combinator_initializer(shape, dtype=None):
    """The reference's start: a2 = a7 = 1, every other parameter 0 (so that z^ starts at 0)."""
    start = np.zeros(shape, np.float32)
    start[[1, 6]] = 1.0
    return tf.constant(start, dtype or tf.float32)


def layer_initializer():
    """N(0, 1 / fan_in), the reference's weights of the encoder and of the decoder's V."""
    return keras.initializers.VarianceScaling(1.0, mode="fan_in", distribution="untruncated_normal")


@register("ladder")
@keras.saving.register_keras_serializable("zoo")
class Ladder(ZooModel):
    """The Ladder network (Rasmus et al., 2015): a semi-supervised MLP classifier trained to classify its labelled
    images under noise and to denoise, layer by layer, the representations of every image (see the module doc).

    Trains on (unlabelled images, labelled images, labels) batches, the convention of `semi_supervised_vae`: each
    unlabelled row is paired with a labelled one (the few labelled images repeat). An (images, labels) batch is
    all labelled. The two groups are normalised with their own batch statistics, as in the reference implementation,
    and the images of both are denoised (the labelled ones too, as in the paper). The loss is the cross-entropy of the
    corrupted pass on the labelled rows plus sum_l denoising_weights[l] * denoise_l, where denoise_l is layer l's
    denoising cost (mean squared error per unit, the input layer 0 to the top L; unweighted in the metrics) over the
    rows of both groups. Metrics: loss, cross_entropy, accuracy (of the clean pass on the labelled rows), denoise_0
    .. denoise_L.

    The clean pass classifies: `call` gives its logits, `classify(images)` {"probs", "features"} (features: the top
    hidden layer's activations). Outside training, the batch normalisations of the encoder use running averages of
    the clean pass's statistics of the unlabelled rows: their mean over the first 1 / (1 - momentum) training steps,
    then an exponential moving average (as the reference's counter does).

    The paper trains with Adam at a learning rate of 0.002, decayed linearly to 0 over the last third of training
    (the reference's --lrate-decay 0.67, 150 epochs, batches of 100 labelled and 100 unlabelled images); the recipe
    sets the schedule.

    Args:
      hidden_units: widths of the hidden (ReLU) layers; the paper's MNIST network 784-1000-500-250-250-250-10.
      num_classes: number of classes (the width of the softmax top).
      noise_std: standard deviation of the Gaussian noise of the corrupted pass, at the input and every layer.
      denoising_weights: the weight lambda of each layer's denoising cost, the input first and the top last
        (len(hidden_units) + 2 of them, each >= 0); the paper's for 100 labels by default.
      momentum: of the running averages of the batch statistics, in [0, 1).
      **kwargs: image_shape, seed and keras.Model arguments.
    """

    takes_labels = True
    ENDPOINTS = ("classify",)
    serving_endpoint = "classify"
    # For the default depth; an instance lists denoise_0 .. denoise_L of its own.
    loss_names = ("loss", "cross_entropy", "accuracy", *(f"denoise_{layer}" for layer in range(7)))

    def __init__(self, hidden_units=(1000, 500, 250, 250, 250), num_classes=10, noise_std=0.3,
                 denoising_weights=(1000.0, 10.0, 0.1, 0.1, 0.1, 0.1, 0.1), momentum=0.99, **kwargs):
        hidden_units, denoising_weights = tuple(hidden_units), tuple(denoising_weights)
        if not hidden_units or not all(int(units) == units and units > 0 for units in hidden_units):
            raise ValueError(f"hidden_units must be one or more positive widths; received hidden_units={hidden_units!r}")
        if not (int(num_classes) == num_classes and num_classes >= 2):
            raise ValueError(f"num_classes must be an integer >= 2; received num_classes={num_classes!r}")
        if not noise_std >= 0:
            raise ValueError(f"noise_std must be >= 0; received noise_std={noise_std!r}")
        if len(denoising_weights) != len(hidden_units) + 2 or not all(weight >= 0 for weight in denoising_weights):
            raise ValueError(f"denoising_weights must give a weight >= 0 to each of the {len(hidden_units) + 2} layers "
                             f"(the input, {len(hidden_units)} hidden, the top); received "
                             f"denoising_weights={denoising_weights!r}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1); received momentum={momentum!r}")
        self.loss_names = ("loss", "cross_entropy", "accuracy",
                           *(f"denoise_{layer}" for layer in range(len(hidden_units) + 2)))
        super().__init__(**kwargs)
        self.hidden_units, self.num_classes = tuple(int(units) for units in hidden_units), int(num_classes)
        self.noise_std, self.momentum = float(noise_std), float(momentum)
        self.denoising_weights = tuple(float(weight) for weight in denoising_weights)
        # widths[l] of z(l): the input, the hidden layers, the top.
        self.widths = (int(np.prod(self.image_shape)), *self.hidden_units, self.num_classes)
        top = len(self.widths) - 1
        self.encoder_layers = [self.dense(self.widths[l], self.widths[l - 1], f"encoder_{l}") for l in range(1, top + 1)]
        self.decoder_layers = [self.dense(self.widths[l], self.widths[l + 1], f"decoder_{l}") for l in range(top)]
        self.betas = [self.add_weight(shape=(self.widths[l],), initializer="zeros", name=f"beta_{l}")
                      for l in range(1, top + 1)]
        self.gamma = self.add_weight(shape=(self.num_classes,), initializer="ones", name="gamma")
        self.combinators = [self.add_weight(shape=(COMBINATOR_PARAMETERS, width), initializer=combinator_initializer,
                                            name=f"combinator_{l}") for l, width in enumerate(self.widths)]
        statistic = dict(trainable=False, autocast=False, aggregation="only_first_replica")
        self.running_means = [self.add_weight(shape=(self.widths[l],), initializer="zeros", name=f"running_mean_{l}",
                                              **statistic) for l in range(1, top + 1)]
        self.running_variances = [self.add_weight(shape=(self.widths[l],), initializer="ones",
                                                  name=f"running_variance_{l}", **statistic) for l in range(1, top + 1)]
        self.statistics_steps = self.add_weight(shape=(), initializer="zeros", name="statistics_steps", **statistic)
        self.built = True

    @staticmethod
    def dense(units, inputs, name):
        layer = keras.layers.Dense(units, use_bias=False, kernel_initializer=layer_initializer(), name=name)
        layer.build((None, inputs))
        return layer

    def batch_statistics(self, values):
        """(mean, variance) of `values` [b, width] over the (global) batch."""
        mean = self.batch_mean(values)
        return mean, self.batch_mean(tf.square(values - mean))

    def noisy(self, values, noise_std):
        if not noise_std:
            return values
        return values + noise_std * self.batch_noise(tf.random.stateless_normal, tf.shape(values))

    def encode(self, images, noise_std=0.0, training=False):
        """One encoder pass: (z [the input, then z(1) .. z(L)], their (mean, variance) of the normalisation (None for
        the input), the top hidden layer's activations, the logits gamma * (z(L) + beta(L))). With `training` the
        normalisations use the batch's statistics, else the running averages; `noise_std` > 0 makes it corrupted."""
        h = self.noisy(tf.reshape(tf.cast(images, tf.float32), [-1, self.widths[0]]), noise_std)
        zs, statistics = [h], [None]
        for l, layer in enumerate(self.encoder_layers):
            pre = tf.cast(layer(h), tf.float32)
            mean, variance = (self.batch_statistics(pre) if training
                              else (self.running_means[l], self.running_variances[l]))
            z = self.noisy((pre - mean) / tf.sqrt(variance + EPSILON), noise_std)
            zs.append(z)
            statistics.append((mean, variance))
            if l < len(self.encoder_layers) - 1:
                features = h = tf.nn.relu(z + self.betas[l])
        return zs, statistics, features, self.gamma * (zs[-1] + self.betas[-1])

    def call(self, images, training=False):
        """Class logits [b, num_classes] of the clean pass."""
        return self.encode(images, training=training)[-1]

    def classify(self, images):
        """{"probs": class probabilities, "features": the top hidden layer's activations} of the clean pass."""
        _, _, features, logits = self.encode(images)
        return {"probs": tf.nn.softmax(logits), "features": features}

    def endpoints(self):
        return {"classify": signatures.Endpoint(lambda inputs: self.classify(self.checked_inputs(inputs)),
                                                (self.inputs_spec(),))}

    def denoising_costs(self, clean, statistics, corrupted, corrupted_logits):
        """Each layer's denoising cost [input .. top] from a clean pass (z, statistics) and a corrupted one (z~,
        logits)."""
        costs, estimate = [], None
        for l in reversed(range(len(self.widths))):
            u = tf.nn.softmax(corrupted_logits) if l == len(self.widths) - 1 else tf.cast(
                self.decoder_layers[l](estimate), tf.float32)
            mean, variance = self.batch_statistics(u)
            estimate = vanilla_combinator(corrupted[l], (u - mean) / tf.sqrt(variance + EPSILON), self.combinators[l])
            normalised = estimate
            if statistics[l] is not None:
                mean, variance = statistics[l]
                normalised = (estimate - mean) / tf.sqrt(variance + EPSILON)
            costs.append(tf.reduce_mean(tf.square(normalised - clean[l])))
        return costs[::-1]

    def group_losses(self, images, training):
        """(denoising costs, clean logits, corrupted logits, the clean pass's statistics) of one group of rows."""
        clean, statistics, _, clean_logits = self.encode(images, training=training)
        corrupted, _, _, corrupted_logits = self.encode(images, self.noise_std, training=training)
        return self.denoising_costs(clean, statistics, corrupted, corrupted_logits), clean_logits, corrupted_logits, \
            statistics

    def update_running_statistics(self, statistics):
        """Moves the running averages towards a clean pass's batch statistics."""
        steps = self.statistics_steps.assign_add(1.0)
        rate = tf.maximum(1.0 / steps, 1.0 - self.momentum)
        for (mean, variance), running_mean, running_variance in zip(statistics[1:], self.running_means,
                                                                    self.running_variances):
            running_mean.assign(running_mean + rate * (tf.stop_gradient(mean) - running_mean))
            running_variance.assign(running_variance + rate * (tf.stop_gradient(variance) - running_variance))

    def losses_of(self, data, training=False):
        if len(data) == 2:
            labelled, labels = data
            costs, clean_logits, corrupted_logits, statistics = self.group_losses(labelled, training)
        else:
            unlabelled, labelled, labels = data
            unlabelled_costs, _, _, statistics = self.group_losses(unlabelled, training)
            labelled_costs, clean_logits, corrupted_logits, _ = self.group_losses(labelled, training)
            share = tf.cast(tf.shape(labelled)[0], tf.float32) / tf.cast(
                tf.shape(labelled)[0] + tf.shape(unlabelled)[0], tf.float32)
            costs = [share * a + (1.0 - share) * b for a, b in zip(labelled_costs, unlabelled_costs)]
        if training:
            self.update_running_statistics(statistics)
        labels = tf.cast(labels, tf.int32)
        cross_entropy = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, corrupted_logits))
        correct = tf.equal(tf.argmax(clean_logits, -1, output_type=tf.int32), labels)
        losses = {"loss": cross_entropy + tf.add_n([weight * cost for weight, cost in zip(self.denoising_weights, costs)]),
                  "cross_entropy": cross_entropy, "accuracy": tf.reduce_mean(tf.cast(correct, tf.float32))}
        losses.update({f"denoise_{layer}": cost for layer, cost in enumerate(costs)})
        return losses

    def get_config(self):
        config = super().get_config()
        config.update(hidden_units=list(self.hidden_units), num_classes=self.num_classes, noise_std=self.noise_std,
                      denoising_weights=list(self.denoising_weights), momentum=self.momentum)
        return config
