"""Rating prediction on a split of (user, item, rating) rows: AutoRec and its baselines.

Every predictor is fit on training rows (validation rows for early stopping or choosing a penalty) and
predicts ratings for any rows, clipped to [1, 5]; users or items without training ratings get
movielens.DEFAULT_RATING, for every predictor alike (as Sedhain et al., 2015 do for AutoRec).
"""

import keras
import numpy as np
import tensorflow as tf

import zoo
from zoo import movielens, training
from zoo.batching import apply_in_batches
from zoo.models.base import ZooModel


class Predictor:
    """Base of the rating predictors: `fit` on rows, then `predict` rows (unseen users or items get the default)."""

    def fit(self, train, validation, shape, seed):
        self.seen_users = np.zeros(shape[0], bool)
        self.seen_items = np.zeros(shape[1], bool)
        self.seen_users[train[:, 0] - 1] = True
        self.seen_items[train[:, 1] - 1] = True
        self.mean = float(train[:, 2].mean())
        self._fit(train, validation, shape, seed)
        return self

    def _train_early_stopped(self, inputs, validation, seed):
        """Trains `self.model` on `inputs` with the training core (`self.epochs` at most, `self.batch_size`,
        `self.learning_rate`) until `self.patience` epochs pass without a better validation RMSE, and keeps the
        weights of the best epoch (`best_epoch`, from 1, and its `validation_rmse`)."""
        stopper = keras.callbacks.EarlyStopping(monitor="val_rmse", mode="min", patience=self.patience,
                                                restore_best_weights=True)
        # Keras 3's EarlyStopping restores the best weights when training ends, whether it stopped early or not.
        history = training.train_arrays(self.model, inputs, self.epochs, self.batch_size, self.learning_rate, seed,
                                        callbacks=[ValidationRMSE(self, validation), stopper])
        self.history = history.history
        self.best_epoch, self.validation_rmse = stopper.best_epoch + 1, float(stopper.best)

    def predict(self, rows):
        users, items = rows[:, 0] - 1, rows[:, 1] - 1
        known = self.seen_users[users] & self.seen_items[items]
        predictions = np.full(len(rows), movielens.DEFAULT_RATING)
        predictions[known] = np.clip(self._predict(users[known], items[known]), 1.0, 5.0)
        return predictions

    def _fit(self, train, validation, shape, seed):
        pass

    def _predict(self, users, items):
        raise NotImplementedError


class GlobalMean(Predictor):
    """The mean training rating for every pair."""

    def _predict(self, users, items):
        return np.full(len(users), self.mean)


class Biases(Predictor):
    """mu + b_user + b_item, regularized least squares by alternating closed-form updates."""

    def __init__(self, regularization=10.0, iterations=20):
        self.regularization, self.iterations = regularization, iterations

    def _fit(self, train, validation, shape, seed):
        users, items, residual = train[:, 0] - 1, train[:, 1] - 1, train[:, 2] - self.mean
        self.user_bias, self.item_bias = np.zeros(shape[0]), np.zeros(shape[1])
        for _ in range(self.iterations):
            self.item_bias = (np.bincount(items, residual - self.user_bias[users], shape[1])
                              / (self.regularization + np.bincount(items, minlength=shape[1])))
            self.user_bias = (np.bincount(users, residual - self.item_bias[items], shape[0])
                              / (self.regularization + np.bincount(users, minlength=shape[0])))

    def _predict(self, users, items):
        return self.mean + self.user_bias[users] + self.item_bias[items]


class MatrixFactorization(ZooModel):
    """Biased matrix factorization as a Keras model: mu + b_user + b_item + p_user . q_item for (users, items)
    index pairs (from 0). Trains on ((users, items), ratings) batches; the loss of a rating is its squared error
    plus l2 * (||p_user||^2 + ||q_item||^2 + b_user^2 + b_item^2), averaged over the batch.

    Args:
      num_users: number of users (rows of p and b_user).
      num_items: number of items (rows of q and b_item).
      factors: length of the factor vectors p_user and q_item (initialized N(0, 0.1^2); the biases at 0).
      l2: weight of the penalty, per rating.
      mean: mu, the global mean rating, held fixed.
      **kwargs: seed and keras.Model arguments.
    """

    data_kind = "ratings"
    loss_names = ("loss", "squared_error", "penalty")
    registry_name = "matrix_factorization"  # the name training messages give it; it is not in the registry

    def __init__(self, num_users, num_items, factors=50, l2=0.1, mean=0.0, **kwargs):
        kwargs.pop("image_shape", None)
        super().__init__(**kwargs)
        if not l2 >= 0:
            raise ValueError(f"l2 must be >= 0; received l2={l2}")
        self.num_users, self.num_items, self.factors = int(num_users), int(num_items), int(factors)
        self.l2, self.mean = float(l2), float(mean)

        normal = [keras.initializers.RandomNormal(stddev=0.1, seed=self.seed + offset) for offset in (0, 1)]
        self.user_factors = keras.layers.Embedding(self.num_users, self.factors, embeddings_initializer=normal[0],
                                                   name="user_factors")
        self.item_factors = keras.layers.Embedding(self.num_items, self.factors, embeddings_initializer=normal[1],
                                                   name="item_factors")
        self.user_bias = keras.layers.Embedding(self.num_users, 1, embeddings_initializer="zeros", name="user_bias")
        self.item_bias = keras.layers.Embedding(self.num_items, 1, embeddings_initializer="zeros", name="item_bias")
        for layer in (self.user_factors, self.item_factors, self.user_bias, self.item_bias):
            layer.build((None,))
        self.built = True

    def predictions_and_penalties(self, users, items):
        """Predicted ratings [n] (unclipped) of index pairs, and each pair's ||p||^2 + ||q||^2 + b_user^2 + b_item^2."""
        p, q = self.user_factors(users), self.item_factors(items)
        user_bias, item_bias = self.user_bias(users)[:, 0], self.item_bias(items)[:, 0]
        predictions = self.mean + user_bias + item_bias + tf.reduce_sum(p * q, axis=-1)
        penalties = tf.reduce_sum(p * p, -1) + tf.reduce_sum(q * q, -1) + tf.square(user_bias) + tf.square(item_bias)
        return predictions, penalties

    def call(self, pairs, training=False):
        """Predicted ratings [n] (unclipped) of `pairs` = (users [n], items [n])."""
        return self.predictions_and_penalties(*pairs)[0]

    def losses_of(self, data, training=False):
        (users, items), ratings = data
        predictions, penalties = self.predictions_and_penalties(users, items)
        squared_error = tf.reduce_mean(tf.square(tf.cast(ratings, tf.float32) - predictions))
        penalty = self.l2 * tf.reduce_mean(penalties)
        return {"loss": squared_error + penalty, "squared_error": squared_error, "penalty": penalty}

    def get_config(self):
        config = super().get_config()
        config.pop("image_shape")
        config.update(num_users=self.num_users, num_items=self.num_items, factors=self.factors, l2=self.l2,
                      mean=self.mean)
        return config


class BiasedMF(Predictor):
    """mu + b_user + b_item + p_user . q_item (Koren et al., 2009), L2 on all four (`MatrixFactorization`),
    trained by the training core with Adam on shuffled mini-batches of ratings, keeping the weights of the epoch
    with the best validation RMSE (checked after every epoch; stopped after `patience` epochs without a better one)."""

    def __init__(self, factors=50, l2=0.1, learning_rate=0.003, epochs=200, batch_size=1000, patience=10):
        self.factors, self.l2, self.learning_rate = factors, l2, learning_rate
        self.epochs, self.batch_size, self.patience = epochs, batch_size, patience

    def _fit(self, train, validation, shape, seed):
        self.model = MatrixFactorization(shape[0], shape[1], self.factors, self.l2, self.mean, seed=seed)
        inputs = ((train[:, 0] - 1, train[:, 1] - 1), train[:, 2].astype(np.float32))
        self._train_early_stopped(inputs, validation, seed)

    def _predict(self, users, items):
        return self.model((tf.constant(users), tf.constant(items))).numpy()


class AutoRecPredictor(Predictor):
    """I-AutoRec ("item": each item's vector of user ratings) or U-AutoRec ("user"), trained by the training
    core on the training matrix, keeping the weights of the epoch with the best validation RMSE."""

    def __init__(self, orientation="item", hidden_units=500, l2=0.1, epochs=300, batch_size=64,
                 learning_rate=1e-3, patience=30, input_dropout=0.0):
        if orientation not in ("item", "user"):
            raise ValueError(f"orientation must be 'item' or 'user'; received {orientation!r}")
        self.orientation, self.hidden_units, self.l2, self.input_dropout = orientation, hidden_units, l2, input_dropout
        self.epochs, self.batch_size, self.learning_rate, self.patience = epochs, batch_size, learning_rate, patience

    def vectors(self, matrix):
        """Rows of `matrix` [users, items] as this orientation's input vectors."""
        return matrix.T if self.orientation == "item" else matrix

    def _fit(self, train, validation, shape, seed):
        ratings, observed = (self.vectors(m) for m in movielens.rating_matrix(train, shape))
        self.inputs = ratings
        self.model = zoo.get("autorec", num_inputs=ratings.shape[1], hidden_units=self.hidden_units, l2=self.l2,
                             input_dropout=self.input_dropout, seed=seed)
        self._train_early_stopped((ratings, observed), validation, seed)

    def completed(self):
        """The completed rating matrix in this orientation, [vectors, entries], clipped to [1, 5]."""
        return apply_in_batches(self.model.complete, self.inputs, 512)

    def _predict(self, users, items):
        completed = self.completed()
        return completed[items, users] if self.orientation == "item" else completed[users, items]


class ValidationRMSE(keras.callbacks.Callback):
    """Writes a predictor's RMSE on `validation` rows (its own `predict`: clipped, the default rating for unseen
    users or items) into each epoch's logs as "val_rmse", for callbacks after it such as EarlyStopping."""

    def __init__(self, predictor, validation):
        super().__init__()
        self.predictor, self.validation = predictor, validation

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["val_rmse"] = movielens.rmse(self.predictor.predict(self.validation), self.validation)


PREDICTORS = {
    "global_mean": GlobalMean,
    "biases": Biases,
    "biased_mf": BiasedMF,
    "i_autorec": lambda **kwargs: AutoRecPredictor("item", **kwargs),
    "u_autorec": lambda **kwargs: AutoRecPredictor("user", **kwargs),
}
