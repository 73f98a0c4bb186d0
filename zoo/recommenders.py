"""Rating prediction on a split of (user, item, rating) rows: AutoRec and its baselines.

Every predictor is fit on training rows (validation rows for early stopping or choosing a penalty) and
predicts ratings for any rows, clipped to [1, 5]; users or items without training ratings get
movielens.DEFAULT_RATING, for every predictor alike (as Sedhain et al., 2015 do for AutoRec).
"""

import keras
import numpy as np
import tensorflow as tf

from zoo import movielens


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


class BiasedMF(Predictor):
    """mu + b_user + b_item + p_user . q_item (Koren et al., 2009), L2 on all four, full-batch Adam, stopped at
    the best validation RMSE."""

    def __init__(self, factors=50, l2=0.1, learning_rate=0.003, max_steps=4000, patience=200):
        if max_steps < 10:
            raise ValueError(f"max_steps must be >= 10 (validation is checked every 10 steps); received {max_steps}")
        self.factors, self.l2, self.learning_rate = factors, l2, learning_rate
        self.max_steps, self.patience = max_steps, patience

    def _fit(self, train, validation, shape, seed):
        rng = np.random.default_rng(seed)
        self.variables = [tf.Variable(rng.normal(0, 0.1, (shape[0], self.factors)), dtype=tf.float32),
                          tf.Variable(rng.normal(0, 0.1, (shape[1], self.factors)), dtype=tf.float32),
                          tf.Variable(tf.zeros(shape[0])), tf.Variable(tf.zeros(shape[1]))]
        users, items = tf.constant(train[:, 0] - 1), tf.constant(train[:, 1] - 1)
        ratings = tf.constant(train[:, 2], tf.float32)
        optimizer = keras.optimizers.Adam(self.learning_rate)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                p, q, bu, bi = (tf.gather(v, index) for v, index in zip(self.variables, (users, items, users, items)))
                error = ratings - (self.mean + bu + bi + tf.reduce_sum(p * q, axis=-1))
                penalty = tf.reduce_sum(p * p, -1) + tf.reduce_sum(q * q, -1) + bu * bu + bi * bi
                loss = tf.reduce_mean(tf.square(error) + self.l2 * penalty)
            optimizer.apply(tape.gradient(loss, self.variables), self.variables)
            return loss

        val_users, val_items = tf.constant(validation[:, 0] - 1), tf.constant(validation[:, 1] - 1)
        val_known = tf.constant(self.seen_users[validation[:, 0] - 1] & self.seen_items[validation[:, 1] - 1])
        val_ratings = tf.constant(validation[:, 2], tf.float32)

        @tf.function
        def validation_rmse():  # what `predict` computes, in the graph
            p, q, bu, bi = (tf.gather(v, i) for v, i in zip(self.variables, (val_users, val_items, val_users, val_items)))
            predictions = tf.clip_by_value(self.mean + bu + bi + tf.reduce_sum(p * q, axis=-1), 1.0, 5.0)
            predictions = tf.where(val_known, predictions, movielens.DEFAULT_RATING)
            return tf.sqrt(tf.reduce_mean(tf.square(predictions - val_ratings)))

        best, best_step, best_values = float("inf"), 0, None
        for number in range(1, self.max_steps + 1):
            step()
            if number % 10 == 0:
                score = float(validation_rmse())
                if score < best:
                    best, best_step, best_values = score, number, [v.numpy() for v in self.variables]
                elif number - best_step >= self.patience:
                    break
        for variable, value in zip(self.variables, best_values):
            variable.assign(value)
        self.best_step, self.validation_rmse = best_step, best

    def _predict(self, users, items):
        p, q, bu, bi = (v.numpy() for v in self.variables)
        return self.mean + bu[users] + bi[items] + np.sum(p[users] * q[items], axis=-1)


class AutoRecPredictor(Predictor):
    """I-AutoRec ("item": each item's vector of user ratings) or U-AutoRec ("user"), trained by the training
    core on the training matrix, keeping the weights of the epoch with the best validation RMSE."""

    def __init__(self, orientation="item", hidden_units=500, l2=0.1, epochs=300, batch_size=64,
                 learning_rate=1e-3, patience=30):
        if orientation not in ("item", "user"):
            raise ValueError(f"orientation must be 'item' or 'user'; received {orientation!r}")
        self.orientation, self.hidden_units, self.l2 = orientation, hidden_units, l2
        self.epochs, self.batch_size, self.learning_rate, self.patience = epochs, batch_size, learning_rate, patience

    def vectors(self, matrix):
        """Rows of `matrix` [users, items] as this orientation's input vectors."""
        return matrix.T if self.orientation == "item" else matrix

    def _fit(self, train, validation, shape, seed):
        import zoo
        from zoo import training

        ratings, observed = (self.vectors(m) for m in movielens.rating_matrix(train, shape))
        self.inputs = ratings
        self.model = zoo.get("autorec", num_inputs=ratings.shape[1], hidden_units=self.hidden_units, l2=self.l2,
                             seed=seed)
        stopper = _BestValidation(self, validation, self.patience)
        training.train_arrays(self.model, (ratings, observed), self.epochs, self.batch_size, self.learning_rate, seed,
                              callbacks=[stopper])
        self.model.set_weights(stopper.best_weights)
        self.best_epoch, self.validation_rmse, self.stopper_weights = stopper.best_epoch, stopper.best, stopper.best_weights

    def completed(self):
        """The completed rating matrix in this orientation, [vectors, entries], clipped to [1, 5]."""
        return np.concatenate([self.model.complete(self.inputs[start:start + 512]).numpy()
                               for start in range(0, len(self.inputs), 512)])

    def _predict(self, users, items):
        completed = self.completed()
        return completed[items, users] if self.orientation == "item" else completed[users, items]


class _BestValidation(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the lowest validation RMSE; stops after `patience` worse epochs."""

    def __init__(self, predictor, validation, patience):
        super().__init__()
        self.predictor, self.validation, self.patience = predictor, validation, patience
        self.best, self.best_epoch, self.best_weights = float("inf"), 0, None

    def on_epoch_end(self, epoch, logs=None):
        score = movielens.rmse(self.predictor.predict(self.validation), self.validation)
        if logs is not None:
            logs["val_rmse"] = score
        if score < self.best:
            self.best, self.best_epoch, self.best_weights = score, epoch + 1, self.model.get_weights()
        elif epoch + 1 - self.best_epoch >= self.patience:
            self.model.stop_training = True


PREDICTORS = {
    "global_mean": GlobalMean,
    "biases": Biases,
    "biased_mf": BiasedMF,
    "i_autorec": lambda **kwargs: AutoRecPredictor("item", **kwargs),
    "u_autorec": lambda **kwargs: AutoRecPredictor("user", **kwargs),
}
