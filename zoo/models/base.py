"""The shared bases: `ZooModel` (trackers, the model's random stream, train_step/test_step around
`losses_of`, training hooks, the endpoints it exports, config) for every model, and `Autoencoder`,
whose losses are one `compute_losses(images)`."""

import keras
import tensorflow as tf

from zoo import signatures
from zoo.config import IMAGE_SHAPE
from zoo.search_space import Int
from zoo.signatures import Endpoint


class ZooModel(keras.Model):
    """What every zoo model shares: one Mean tracker per name in `loss_names`, a seeded random stream,
    the hooks the training core calls, and `get_config` of the image shape and seed.

    Args:
      image_shape: shape of one image.
      seed: seed of the model's own random stream (noise in the train and test steps).
    """

    loss_names = ("loss",)
    data_kind = "images"  # what the model trains on: MNIST images, or "ratings" (rating vectors)
    takes_labels = False  # True if its batches must be (images, labels): the label is part of the input
    # The endpoints it exports (names from zoo.signatures.ENDPOINT_NAMES; `endpoints()` builds them) and which
    # one is also the SavedModel's serving_default.
    ENDPOINTS = ()
    serving_endpoint = None
    evaluation = None  # the name of its test measures in zoo.metrics.EVALUATIONS, if it has any

    def __init__(self, image_shape=IMAGE_SHAPE, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(image_shape)
        self.seed = seed
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
        """Sets data statistics a fresh model starts from (the training core calls it before a new run's first
        epoch with the training batches); none by default."""

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
        """{name: scalar} of the loss terms on a batch `data` (the first named "loss" is minimized)."""
        raise NotImplementedError

    def train_step(self, data):
        with tf.GradientTape() as tape:
            losses = self.losses_of(data, training=True)
            # Each replica's gradients are summed across replicas, so each contributes its share.
            objective = losses["loss"] / tf.distribute.get_strategy().num_replicas_in_sync
            objective = self.optimizer.scale_loss(objective)
        gradients = tape.gradient(objective, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        return self._track(losses)

    def test_step(self, data):
        return self._track(self.losses_of(data, training=False))

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
        """`sample(num, seed) -> {"images"}`, stateless in (num, seed), for models with `sample(num, seed_pair)`."""
        return Endpoint(lambda num, seed: {"images": self.sample(signatures.checked_count(num), signatures.seed_pair(seed))},
                        (signatures.NUM_SPEC, signatures.SEED_SPEC))

    # Constructor arguments that change what an endpoint serves, not what trains: not part of a run's identity.
    serving_options = ()

    def constructor_config(self):
        """`get_config()` without keras.Model bookkeeping (name, trainable, dtype): what defines the model."""
        return {k: v for k, v in self.get_config().items() if k not in ("name", "trainable", "dtype")}

    def get_config(self):
        config = super().get_config()
        config.update(image_shape=self.image_shape, seed=self.seed)
        return config


class Autoencoder(ZooModel):
    """Base class of the autoencoders: the train/test steps of `ZooModel` around `compute_losses(images)`.

    A variant lists its loss terms in `loss_names` (the first is "loss", the minimized objective),
    implements `compute_losses(images, training) -> {name: scalar}`, `encode` and `decode`, and
    builds its networks in `__init__` so that the model is built on construction.
    `search_spaces` are the hyperparameter spaces `tuning.search` offers for it (see zoo.search_space).
    """

    search_spaces = {"latent_dim": (Int("latent_dim", 2, 128, sampling="log"),)}
    ENDPOINTS = ("encode", "decode", "reconstruct")
    serving_endpoint = "reconstruct"

    # What the code of encode and decode is, for the card, where its size alone does not say it.
    code_description = None

    @property
    def code_size(self):
        """Units of the code `encode` gives and `decode` takes."""
        return self.latent_dim

    def call(self, images, training=False):
        return self.decode(self.encode(images))

    def endpoints(self):
        images, code = signatures.images_spec(self.image_shape), signatures.code_spec(self.code_size)
        checked = signatures.checked_images
        return {
            "encode": Endpoint(lambda images: self.encode_outputs(checked(images)), (images,)),
            "decode": Endpoint(lambda code: self.decode_outputs(signatures.checked_codes(code)), (code,)),
            "reconstruct": Endpoint(lambda images: {"probs": self(checked(images))}, (images,)),
        }

    def score_endpoint(self):
        """`score(images) -> {"score"}`, each image's `anomaly_score`, for the autoencoders that have one."""
        return Endpoint(lambda images: {"score": self.anomaly_score(signatures.checked_images(images))},
                        (signatures.images_spec(self.image_shape),))

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
        """What the exported `decode` endpoint returns."""
        return {"probs": self.decode(codes)}

