"""The shared bases: `ZooModel` (trackers, the model's random stream, the units of its inputs, train_step/test_step
around `losses_of`, training hooks, the endpoints it exports, config) for every model, and `Autoencoder`,
whose losses are one `compute_losses(images)`.

Units. An autoencoder made with `standardize=True` keeps the mean and scale of each input dimension of its training
data (non-trainable weights `input_mean` and `input_scale`, set by `adapt`) and works on standardized inputs
(x - input_mean) / input_scale, its model units: `losses_of`, `compute_losses`, `encode`, `decode`, `sample`, the
likelihoods and scores take and give model units. What faces the data takes raw units: the train and test steps and
`adapt` take raw batches, `call` (`model(x)`) gives the reconstruction of raw inputs in raw units, and the endpoints
take raw inputs and return reconstructions, decodings and samples in raw units. `standardized(x)` and `raw(x)`
convert; without `standardize` (the default, and every MNIST model) both leave values as they are.
"""

import numbers

import keras
import numpy as np
import tensorflow as tf

from zoo import signatures
from zoo.config import IMAGE_SHAPE
from zoo.search_space import Int
from zoo.signatures import Endpoint


def input_statistics(dataset, inputs_of):
    """(mean, scale) of each input dimension over the batches of `dataset` (`inputs_of(batch)` their inputs), float32
    from a float64 accumulation in one pass (batch means and sums of squared deviations merged as Chan, Golub & LeVeque,
    1979): the mean and the standard deviation over all inputs (numpy's `mean` and `std`), the scale 1 for a
    dimension whose value never changes."""
    count, mean, squares, low, high = 0, 0.0, 0.0, np.inf, -np.inf
    for batch in dataset:
        inputs = np.asarray(inputs_of(batch), np.float64)
        if not len(inputs):
            continue
        batch_mean = inputs.mean(axis=0)
        delta, total = batch_mean - mean, count + len(inputs)
        squares = squares + np.square(inputs - batch_mean).sum(0) + np.square(delta) * (count * len(inputs) / total)
        mean, count = mean + delta * (len(inputs) / total), total
        low, high = np.minimum(low, inputs.min(axis=0)), np.maximum(high, inputs.max(axis=0))
    if not count:
        raise ValueError("standardize needs the training inputs' statistics; adapt received no inputs")
    scale = np.sqrt(squares / count).astype(np.float32)
    return mean.astype(np.float32), np.where((high > low) & (scale > 0), scale, np.float32(1.0))


class _Mapped:
    """The batches of `batches` passed through `function`, as often as they are iterated."""

    def __init__(self, batches, function):
        self.batches, self.function = batches, function

    def __iter__(self):
        return map(self.function, self.batches)


def _passing_values(values, checked):
    """`values`, once the checks `checked` (a tensor computed from them) depends on have passed."""
    with tf.control_dependencies([checked]):
        return tf.identity(values)


class ZooModel(keras.Model):
    """What every zoo model shares: one Mean tracker per name in `loss_names`, a seeded random stream, the units of
    its inputs (see the module doc), the hooks the training core calls, and `get_config` of the input shape, seed and
    standardize.

    Args:
      image_shape: the shape of one input: an image [H, W, C] or a row [d] (the name is kept for saved configs).
      seed: seed of the model's own random stream (noise in the train and test steps).
      standardize: work on inputs standardized by the training data's mean and scale (set by `adapt`); for the
        autoencoders with real-valued outputs.
      resize_inputs: for images [H, W, C]: the endpoints take images of any height and width [batch, None, None, C]
        and resize them to H x W inside the graph (zoo.signatures.resized_images, as the data sources resize), for a
        model trained on images resized to one size. Serving only: the training steps take images of its shape.
    """

    loss_names = ("loss",)
    data_kind = "images"  # what the model trains on: MNIST images, or "ratings" (rating vectors)
    takes_labels = False  # True if its batches must be (images, labels): the label is part of the input
    # The endpoints it exports (names from zoo.signatures.ENDPOINT_NAMES; `endpoints()` builds them) and which
    # one is also the SavedModel's serving_default.
    ENDPOINTS = ()
    serving_endpoint = None
    evaluation = None  # the name of its test measures in zoo.metrics.EVALUATIONS, if it has any
    # Whether `standardize=True` is offered: by the autoencoders, whose endpoints convert between the units.
    standardizable = False
    # Whether the inputs are any real values (a Gaussian likelihood, a linear output) rather than values in [0, 1].
    real_valued = False

    def __init__(self, image_shape=IMAGE_SHAPE, seed=0, standardize=False, resize_inputs=False, **kwargs):
        super().__init__(**kwargs)
        if not tuple(image_shape) or not all(isinstance(side, numbers.Integral) and side > 0 for side in image_shape):
            raise ValueError("image_shape must be the shape of one input, an image [H, W, C] or a row [d], in "
                             f"positive integers; received image_shape={image_shape!r}")
        if standardize and not self.standardizable:
            raise ValueError(f"standardize is for the autoencoders; {type(self).__name__} takes its inputs as they "
                             f"are: received standardize={standardize!r}")
        if resize_inputs and len(image_shape) != 3:
            raise ValueError("resize_inputs is for images [H, W, C]; received image_shape="
                             f"{tuple(image_shape)!r}, resize_inputs={resize_inputs!r}")
        self.image_shape = tuple(int(side) for side in image_shape)
        self.resize_inputs = bool(resize_inputs)
        self.seed = seed
        self.standardize = bool(standardize)
        if self.standardize:
            self.input_mean = self.add_weight(shape=self.image_shape, initializer="zeros", trainable=False,
                                              name="input_mean")
            self.input_scale = self.add_weight(shape=self.image_shape, initializer="ones", trainable=False,
                                               name="input_scale")
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.loss_names}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def build(self, input_shape=None):
        self.built = True

    @staticmethod
    def training_optimizers(learning_rate):
        """The `compile` arguments the training core passes (a learning rate or schedule in)."""
        return {"optimizer": keras.optimizers.Adam(learning_rate)}

    def build_optimizers(self):
        """Creates the optimizer variables (so that a checkpoint can be restored into them)."""
        if not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)

    def adapt(self, dataset):
        """Sets what a fresh model starts from, from the training batches `dataset` (inputs, or tuples with the inputs
        first; the training core calls it once, before a new run's first epoch): with `standardize`, the mean and
        scale of the inputs first, then the model's own statistics (`initialize_from`) on the standardized batches."""
        if self.standardize:
            mean, scale = input_statistics(dataset, self.images_of)
            self.input_mean.assign(mean)
            self.input_scale.assign(scale)
            dataset = _Mapped(dataset, self.standardized_batch)
        self.initialize_from(dataset)

    def initialize_from(self, dataset):
        """Sets data statistics a fresh model starts from, from training batches in model units; none by default."""

    # Units (see the module doc).
    @property
    def input_name(self):
        """What the endpoints call the inputs: "images", or "rows" for rows [d]."""
        return signatures.input_name(self.image_shape)

    @property
    def bounded_inputs(self):
        """Whether the inputs are values in [0, 1], which the endpoints check: not real-valued, not standardized."""
        return not (self.real_valued or self.standardize)

    def inputs_spec(self):
        """The TensorSpec of the endpoints' inputs: a batch of the model's shape (any height and width with
        `resize_inputs`)."""
        return signatures.inputs_spec(self.image_shape, any_size=self.resize_inputs)

    def checked_inputs(self, inputs):
        """Endpoint inputs once they are finite and, if `bounded_inputs`, in [0, 1], and with `standardize` within
        signatures.STANDARDIZED_LIMIT training standard deviations (checked in the graph); with `resize_inputs`,
        resized to the model's height and width."""
        inputs = signatures.checked_inputs(inputs, self.input_name, unit_interval=self.bounded_inputs)
        if self.resize_inputs:
            inputs = self.resized_inputs(inputs)
        if self.standardize:
            return _passing_values(inputs, signatures.checked_standardized(self.standardized(inputs), self.input_name))
        return inputs

    def resized_inputs(self, images):
        """Images [b, h, w, C] of any height and width >= 1 resized to the model's (values in [0, 1] stay in it)."""
        height, width, channels = self.image_shape
        images = _passing_values(images, tf.debugging.assert_positive(
            tf.shape(images)[1:3], message=(f"images must be [batch, height, width, {channels}] with a height and "
                                            f"width of at least 1 (resized to {height}x{width})")))
        images = signatures.resized_images(images, (height, width))
        return tf.clip_by_value(images, 0.0, 1.0) if self.bounded_inputs else images

    def standardized(self, inputs):
        """Raw inputs in model units: (inputs - input_mean) / input_scale with `standardize`, else `inputs`."""
        if not self.standardize:
            return inputs
        return (tf.cast(inputs, tf.float32) - self.input_mean) / self.input_scale

    def raw(self, values, shift=True):
        """Values in model units (a mean; with `shift=False` a spread, such as a standard deviation) in raw units:
        values * input_scale + input_mean (values * input_scale) with `standardize`, else `values`."""
        if not self.standardize:
            return values
        scaled = values * self.input_scale
        return scaled + self.input_mean if shift else scaled

    def standardized_batch(self, data):
        """A batch of raw inputs, or a tuple with them first (inputs, labels, ...), with the inputs standardized."""
        if not self.standardize:
            return data
        if isinstance(data, (tuple, list)):
            return (self.standardized(data[0]), *data[1:])
        return self.standardized(data)

    def failure(self, logs):
        """A message if an epoch's logs show training has failed in a model-specific way, else None."""
        return None

    def batch_noise(self, draw, shape, batch_axis=0):
        """`draw(shape, seed)`, stateless noise for this replica's part of a batch, from the model's stream.

        With several replicas (tf.distribute), the noise of the whole global batch is drawn and this replica's
        rows are kept: the replicas' rows never repeat, and N replicas draw exactly what one device draws for the
        global batch, so a distributed step computes the same update as a single-device one.
        """
        seed = tf.cast(self.seed_generator.next(), tf.int64)
        replica = tf.distribute.get_replica_context()
        if replica is None or replica.num_replicas_in_sync == 1:
            return draw(shape, seed)
        shape = tf.cast(tf.convert_to_tensor(shape), tf.int32)
        rows = shape[batch_axis]
        whole = tf.tensor_scatter_nd_update(shape, [[batch_axis]], [rows * replica.num_replicas_in_sync])
        start = rows * tf.cast(replica.replica_id_in_sync_group, tf.int32)
        return tf.gather(draw(whole, seed), tf.range(start, start + rows), axis=batch_axis)

    @staticmethod
    def batch_mean(values):
        """The mean of `values` over the global batch (axis 0). Under several replicas each one's mean is averaged
        across them (their shares of a batch are equal), so that a term on batch statistics (the sparse AE's mean
        activations) is the one a single device computes, and its gradient reaches every replica's rows."""
        mean = tf.reduce_mean(values, axis=0)
        replica = tf.distribute.get_replica_context()
        if replica is None or replica.num_replicas_in_sync == 1:
            return mean
        return replica.all_reduce(tf.distribute.ReduceOp.MEAN, mean)

    @staticmethod
    def images_of(data):
        return data[0] if isinstance(data, (tuple, list)) else data

    def losses_of(self, data, training=False):
        """{name: scalar} of the loss terms on a batch `data` in model units (the first named "loss" is minimized)."""
        raise NotImplementedError

    def train_step(self, data):
        with tf.GradientTape() as tape:
            losses = self.losses_of(self.standardized_batch(data), training=True)
            # Each replica's gradients are summed across replicas, so each contributes its share.
            objective = losses["loss"] / tf.distribute.get_strategy().num_replicas_in_sync
            objective = self.optimizer.scale_loss(objective)
        gradients = tape.gradient(objective, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        return self._track(losses)

    def test_step(self, data):
        return self._track(self.losses_of(self.standardized_batch(data), training=False))

    def _track(self, losses):
        for name, tracker in self.trackers.items():
            tracker.update_state(losses[name])
        results = {name: tracker.result() for name, tracker in self.trackers.items()}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras 3 reduces a multi-worker step's logs along axis 0, which a scalar lacks (tensorflow#72388).
            results = {name: tf.reshape(value, [1]) for name, value in results.items()}
        return results

    # A batch with the training batches' structure and shapes, set by the training core for a distributed fit.
    example_batch = None

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Under a strategy, Keras (3.x) builds from a batch it takes off the training iterator: with a repeated
        # dataset that batch is lost to training, and MultiWorkerMirroredStrategy cannot reduce a nested
        # (images, labels) batch for it. The build needs only the shapes, which `example_batch` has.
        if iterator is None or self.example_batch is None or self._distribute_strategy is None:
            return super()._maybe_symbolic_build(iterator, data_batch)
        with self._distribute_strategy.scope():
            self._symbolic_build(data_batch=self.example_batch)

    def test_metric_name(self, name):
        """The name under which the tracked loss term `name` is reported on the test set."""
        return f"test_{name}"

    def endpoints(self):
        """{name: Endpoint} of every name in ENDPOINTS: the functions `zoo.export` writes into the SavedModel.
        Each checks its inputs inside the graph (see zoo.signatures)."""
        return {}

    def sample_endpoint(self):
        """`sample(num, seed) -> {"images"}` ({"rows"} for rows), stateless in (num, seed), for models with
        `sample(num, seed_pair)`."""
        return Endpoint(lambda num, seed: self.sample_outputs(self.sample(signatures.checked_count(num),
                                                                          signatures.seed_pair(seed))),
                        (signatures.NUM_SPEC, signatures.SEED_SPEC))

    def sample_outputs(self, samples):
        """What a sample endpoint returns of samples in model units: {"images" or "rows": them in raw units}."""
        return {self.input_name: self.raw(samples)}

    # Constructor arguments that change what an endpoint serves, not what trains: not part of a run's identity.
    serving_options = ("resize_inputs",)

    def constructor_config(self):
        """`get_config()` without keras.Model bookkeeping (name, trainable, dtype): what defines the model."""
        return {k: v for k, v in self.get_config().items() if k not in ("name", "trainable", "dtype")}

    def get_config(self):
        config = super().get_config()
        config.update(image_shape=self.image_shape, seed=self.seed, standardize=self.standardize)
        if self.resize_inputs:  # only when set: the configs of models that take their own size stay as they were
            config["resize_inputs"] = True
        return config


class Autoencoder(ZooModel):
    """Base class of the autoencoders: the train/test steps of `ZooModel` around `compute_losses(images)`.

    A variant lists its loss terms in `loss_names` (the first is "loss", the minimized objective),
    implements `compute_losses(images, training) -> {name: scalar}`, `encode` and `decode` (all in model units, see
    the module doc), and builds its networks in `__init__` so that the model is built on construction.
    `search_spaces` are the hyperparameter spaces `tuning.search` offers for it (see zoo.search_space).
    """

    search_spaces = {"latent_dim": (Int("latent_dim", 2, 128, sampling="log"),)}
    ENDPOINTS = ("encode", "decode", "reconstruct")
    serving_endpoint = "reconstruct"
    standardizable = True

    # What the code of encode and decode is, for the card, where its size alone does not say it.
    code_description = None

    @property
    def code_size(self):
        """Units of the code `encode` gives and `decode` takes."""
        return self.latent_dim

    def call(self, inputs, training=False):
        """The reconstruction of raw inputs (a batch, or a tuple with it first), in raw units."""
        return self.raw(self.reconstruction(self.standardized_batch(inputs)))

    def reconstruction(self, inputs):
        """The reconstruction of inputs in model units (what `call` gives in raw units)."""
        return self.decode(self.encode(inputs))

    def served_inputs(self, inputs):
        """Raw endpoint inputs, checked (`checked_inputs`) and standardized: what the model's methods take."""
        return self.standardized(self.checked_inputs(inputs))

    def endpoints(self):
        inputs, code = self.inputs_spec(), signatures.code_spec(self.code_size)
        return {
            "encode": Endpoint(lambda inputs: self.encode_outputs(self.served_inputs(inputs)), (inputs,)),
            "decode": Endpoint(lambda code: self.decode_outputs(signatures.checked_codes(code)), (code,)),
            "reconstruct": Endpoint(lambda inputs: {"probs": self(self.checked_inputs(inputs))}, (inputs,)),
        }

    def score_endpoint(self):
        """`score(images) -> {"score"}`, each input's `anomaly_score` (in model units), for the autoencoders that have
        one."""
        return Endpoint(lambda inputs: {"score": self.anomaly_score(self.served_inputs(inputs))}, (self.inputs_spec(),))

    def reconstruction_error(self, images):
        """Each image's reconstruction error [b] (what `reconstruction` anomaly scores rank by)."""
        raise NotImplementedError

    def encode(self, images):
        raise NotImplementedError

    def decode(self, codes):
        raise NotImplementedError

    def compute_losses(self, images, training=False):
        raise NotImplementedError

    def losses_of(self, data, training=False):
        return self.compute_losses(self.images_of(data), training=training)

    def encode_outputs(self, images):
        """What the exported `encode` endpoint returns."""
        return {"code": self.encode(images)}

    def decode_outputs(self, codes):
        """What the exported `decode` endpoint returns: the decoded means in raw units."""
        return {"probs": self.raw(self.decode(codes))}

