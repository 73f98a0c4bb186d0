"""AutoRec (Sedhain, Menon, Sanner & Xie, WWW 2015): an autoencoder that completes rating vectors.

I-AutoRec encodes each item's vector of ratings by all users, U-AutoRec each user's vector of ratings of
all items: h(r) = f(W g(V r + mu) + b) with g the sigmoid and f the identity (the paper's best pairing).
Unobserved entries are 0 in the input and take no part in the loss.
"""

import keras
import tensorflow as tf

from zoo import signatures
from zoo.losses import l2_penalty
from zoo.models.base import ZooModel
from zoo.registry import register


@register("autorec")
@keras.saving.register_keras_serializable("zoo")
class AutoRec(ZooModel):
    """Rating-vector autoencoder trained on observed entries only, with an L2 penalty on W and V.

    Trains on (ratings, observed) batches of [b, num_inputs] vectors (observed is 1 where a rating is
    known). Metrics: loss, squared_error (summed over a vector's observed entries, mean over vectors), l2.

    Args:
      num_inputs: length of a rating vector (users, for I-AutoRec; items, for U-AutoRec).
      hidden_units: width of the sigmoid code layer.
      l2: the penalty (l2 / 2) * (||W||^2 + ||V||^2), per vector (the paper's lambda over the number of vectors).
      input_dropout: in training, this fraction of each input vector's entries is set to 0 (the rest scaled by
        1 / (1 - input_dropout)) while the loss still counts every observed rating: the model learns to predict
        ratings it is not shown, as at test time. 0 is the paper's model.
      **kwargs: seed and keras.Model arguments.
    """

    data_kind = "ratings"
    loss_names = ("loss", "squared_error", "l2")
    ENDPOINTS = ("complete",)
    serving_endpoint = "complete"

    def __init__(self, num_inputs=943, hidden_units=500, l2=1e-3, input_dropout=0.0, **kwargs):
        kwargs.pop("image_shape", None)
        super().__init__(image_shape=(int(num_inputs),), **kwargs)
        if not l2 >= 0:
            raise ValueError(f"l2 must be >= 0; received l2={l2}")
        if not 0 <= input_dropout < 1:
            raise ValueError(f"input_dropout must be in [0, 1); received input_dropout={input_dropout}")
        self.input_dropout = float(input_dropout)
        self.num_inputs, self.hidden_units, self.l2 = int(num_inputs), int(hidden_units), float(l2)
        self.encoder = keras.Sequential([keras.Input((self.num_inputs,)),
                                         keras.layers.Dense(self.hidden_units, activation="sigmoid")], name="encoder")
        self.decoder = keras.Sequential([keras.Input((self.hidden_units,)), keras.layers.Dense(self.num_inputs)],
                                        name="decoder")
        self.built = True

    def call(self, ratings, training=False):
        """Reconstructed rating vectors [b, num_inputs] (unclipped)."""
        return tf.cast(self.decoder(self.encoder(ratings)), tf.float32)

    def complete(self, ratings):
        """Every entry of the rating vectors predicted, clipped to the rating scale [1, 5]."""
        return tf.clip_by_value(self(ratings), 1.0, 5.0)

    def endpoints(self):
        return {"complete": signatures.Endpoint(lambda ratings: {"ratings": self.complete(signatures.checked_ratings(ratings))},
                                                (signatures.ratings_spec(self.num_inputs),))}

    def initialize_from(self, dataset):
        """Starts the output bias at each entry's mean observed rating (the overall mean where none is observed),
        so that training begins from sensible ratings rather than 0. `dataset` yields (ratings, observed)."""
        total, count = 0.0, 0.0
        for ratings, observed in dataset:
            total += tf.reduce_sum(tf.cast(ratings * observed, tf.float64), axis=0)
            count += tf.reduce_sum(tf.cast(observed, tf.float64), axis=0)
        overall = tf.reduce_sum(total) / tf.maximum(tf.reduce_sum(count), 1.0)
        means = tf.where(count > 0, total / tf.maximum(count, 1.0), overall)
        self.decoder.layers[-1].bias.assign(tf.cast(means, tf.float32))

    def dropped_out(self, ratings):
        keep = self.batch_noise(tf.random.stateless_uniform, tf.shape(ratings)) >= self.input_dropout
        return tf.where(keep, ratings / (1.0 - self.input_dropout), 0.0)

    def losses_of(self, data, training=False):
        ratings, observed = data
        inputs = self.dropped_out(ratings) if training and self.input_dropout > 0 else ratings
        errors = tf.reduce_sum(observed * tf.square(ratings - self(inputs, training=training)), axis=-1)
        squared_error = tf.reduce_mean(errors)
        l2 = l2_penalty([self.encoder.layers[-1].kernel, self.decoder.layers[-1].kernel], 0.5 * self.l2)
        return {"loss": squared_error + l2, "squared_error": squared_error, "l2": l2}

    def get_config(self):
        config = super().get_config()
        config.pop("image_shape")
        config.update(num_inputs=self.num_inputs, hidden_units=self.hidden_units, l2=self.l2,
                      input_dropout=self.input_dropout)
        return config
