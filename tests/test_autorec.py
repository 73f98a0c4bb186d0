"""AutoRec and its baselines on rating data: the masked loss, fitting, bad MovieLens rows, the recipe."""

import json

import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.conftest import run_python
from zoo import movielens, recommenders
from zoo.data import DataError


def test_loss_ignores_unobserved_entries():
    model = zoo.get("autorec", num_inputs=6, hidden_units=4, l2=0.0, seed=0)
    ratings = np.array([[5, 0, 3, 0, 0, 1], [0, 2, 0, 0, 4, 0]], np.float32)
    observed = (ratings > 0).astype(np.float32)
    predictions = model(ratings).numpy()
    expected = np.mean(np.sum(observed * (ratings - predictions) ** 2, axis=1))
    losses = model.losses_of((tf.constant(ratings), tf.constant(observed)))
    assert float(losses["squared_error"]) == pytest.approx(expected, rel=1e-5)
    nothing_observed = model.losses_of((tf.constant(ratings), tf.zeros_like(ratings)))
    assert float(nothing_observed["squared_error"]) == 0.0


def test_a_tiny_autorec_fits_a_small_rating_matrix():
    from zoo import training

    rng = np.random.default_rng(0)
    full = np.clip(np.round(3 + rng.normal(size=(40, 2)) @ rng.normal(size=(2, 30))), 1, 5).astype(np.float32)
    observed = (rng.random(full.shape) < 0.6).astype(np.float32)
    model = zoo.get("autorec", num_inputs=30, hidden_units=20, l2=0.0, seed=0)
    before = float(model.losses_of((tf.constant(full * observed), tf.constant(observed)))["squared_error"])
    training.train_arrays(model, (full * observed, observed), epochs=1500, batch_size=40, learning_rate=1e-2)
    predictions = model.complete(full * observed).numpy()
    rmse = np.sqrt(np.sum(observed * (predictions - full) ** 2) / observed.sum())
    assert rmse < 0.2 and rmse ** 2 * observed.sum() / 40 < before / 20
    assert predictions.min() >= 1 and predictions.max() <= 5


@pytest.mark.parametrize("line, message", [
    ("1\t2\t3", "line 2: expected 4 tab-separated fields (user, item, rating, timestamp); found 3"),
    ("1\t2\t6\t881250949", "line 2: ratings must be 1..5; found 6"),
    ("1\tx\t3\t881250949", "line 2: user, item, rating and timestamp must be integers"),
    ("1\t2\t3.5\t881250949", "line 2: user, item, rating and timestamp must be integers"),
    ("0\t2\t3\t881250949", "line 2: user and item ids start at 1"),
])
def test_bad_movielens_rows_are_refused_naming_the_line(tmp_path, line, message):
    (tmp_path / "u.data").write_text(f"196\t242\t3\t881250949\n{line}\n")
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")) as error:
        movielens.load_ratings(tmp_path)
    assert str(tmp_path / "u.data") in str(error.value)


def test_missing_u_data_is_named(tmp_path):
    with pytest.raises(DataError, match="u.data does not exist"):
        movielens.load_ratings(tmp_path)


def test_splits_and_default_rating(movielens_dir):
    ratings = movielens.load_ratings(movielens_dir)
    assert ratings.shape == (100000, 3) and ratings[:, 0].max() == 943 and ratings[:, 1].max() == 1682
    train, validation, test = movielens.split(ratings, seed=3)
    assert (len(train), len(validation), len(test)) == (81000, 9000, 10000)
    keys = {tuple(r[:2]) for r in train} | {tuple(r[:2]) for r in validation} | {tuple(r[:2]) for r in test}
    assert len(keys) == 100000  # the parts are disjoint
    predictor = recommenders.GlobalMean().fit(train[train[:, 0] != 5], validation, (943, 1682), 0)
    unseen_user = test[test[:, 0] == 5]
    assert np.all(predictor.predict(unseen_user) == movielens.DEFAULT_RATING)


COMPLETE_IN_PLAIN_TF = """
import sys
import numpy as np
import tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
ratings = np.zeros((2, 943), np.float32)
ratings[0, :5] = [5, 4, 1, 2, 3]
out = loaded.complete(tf.constant(ratings))["ratings"].numpy()
print(out.shape, float(out.min()) >= 1, float(out.max()) <= 5)
ratings[1, 0] = 7
try:
    loaded.complete(tf.constant(ratings))
except Exception as error:
    print("refused:", "ratings must be 0 (unknown) or in [1, 5]" in str(error))
"""


def test_autorec_recipe_on_one_split(movielens_dir, tmp_path):
    from recipes import autorec_movielens

    autorec_movielens.main(["--data-dir", movielens_dir, "--splits", "1", "--epochs", "3", "--hidden-units", "16",
                            "--autorec-l2", "0.1", "--mf-l2", "0.1", "--mf-steps", "30", "--bias-regularization",
                            "5", "25", "--out-dir", str(tmp_path)])
    fits = json.loads((tmp_path / "results.json").read_text())["fits"]
    assert set(fits) == {"0/global_mean/None", "0/biases/5.0", "0/biases/25.0", "0/biased_mf/0.1",
                         "0/i_autorec/0.1", "0/u_autorec/0.1"}
    test = {key.split("/")[1]: fit["test"] for key, fit in fits.items() if not key.endswith("25.0")}
    assert 1.0 < test["global_mean"] < 1.2 and test["biases"] < test["global_mean"]
    assert all(0.85 < value < 1.3 for value in test.values())
    table = (tmp_path / "results.md").read_text()
    best_bias = min(("5.0", "25.0"), key=lambda v: fits[f"0/biases/{v}"]["validation"])
    assert f"| biases | regularization in [{best_bias}] |" in table
    result = run_python(["-c", COMPLETE_IN_PLAIN_TF, str(tmp_path / "saved_model")])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-2:] == ["(2, 943) True True", "refused: True"]


@pytest.mark.parametrize("orientation", ["item", "user"])
def test_autorec_predictions_index_the_completed_matrix_by_orientation(orientation):
    rng = np.random.default_rng(1)
    rows = np.array([(u, i, rng.integers(1, 6)) for u in range(1, 8) for i in range(1, 12) if rng.random() < 0.5])
    predictor = recommenders.AutoRecPredictor(orientation, hidden_units=4, epochs=3, batch_size=4)
    predictor.fit(rows, rows[:10], (7, 11), 0)
    completed = predictor.completed()
    assert completed.shape == ((11, 7) if orientation == "item" else (7, 11))
    users, items = rows[:5, 0] - 1, rows[:5, 1] - 1
    expected = completed[items, users] if orientation == "item" else completed[users, items]
    np.testing.assert_allclose(predictor.predict(rows[:5]), expected, rtol=1e-6)
    for got, kept in zip(predictor.model.get_weights(), predictor.stopper_weights):
        np.testing.assert_array_equal(got, kept)  # the best epoch's weights were restored


def test_autorec_keras_round_trip(tmp_path):
    model = zoo.get("autorec", num_inputs=12, hidden_units=5, l2=0.2, seed=4)
    model.save(tmp_path / "autorec.keras")
    loaded = zoo.load(tmp_path / "autorec.keras")
    ratings = np.random.default_rng(0).integers(0, 6, (3, 12)).astype(np.float32)
    np.testing.assert_array_equal(loaded(ratings).numpy(), model(ratings).numpy())
    assert loaded.l2 == 0.2 and loaded.num_inputs == 12
