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


def test_input_dropout_hides_entries_in_training_only_and_the_loss_still_counts_them():
    model = zoo.get("autorec", num_inputs=2000, hidden_units=4, l2=0.0, input_dropout=0.25, seed=0)
    ratings = tf.fill([3, 2000], 4.0)
    shown = model.dropped_out(ratings).numpy()
    hidden = shown == 0
    assert 0.22 < hidden.mean() < 0.28  # the fraction asked for
    np.testing.assert_allclose(shown[~hidden], 4.0 / 0.75)  # the rest scaled, so the input's expected sum is kept
    assert not np.array_equal(hidden, model.dropped_out(ratings).numpy() == 0)  # a new mask every call
    data = (ratings, tf.ones_like(ratings))
    assert float(model.losses_of(data)["loss"]) == float(model.losses_of(data)["loss"])  # evaluation: no noise
    assert float(model.losses_of(data, training=True)["loss"]) != float(model.losses_of(data)["loss"])
    with pytest.raises(ValueError, match=r"input_dropout must be in \[0, 1\); received input_dropout=1"):
        zoo.get("autorec", num_inputs=4, input_dropout=1)


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
    ("0\t2\t3\t881250949", "line 2: user and item ids must be in 1..2147483647"),
    ("1\t99999999999999999999999\t3\t881250949", "line 2: user and item ids must be in 1..2147483647"),
    ("196\t242\t5\t881250950", "line 2: user 196 rated item 242 already on line 1; each pair is rated once"),
])
def test_bad_movielens_rows_are_refused_naming_the_line(tmp_path, line, message):
    (tmp_path / "u.data").write_text(f"196\t242\t3\t881250949\n{line}\n")
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")) as error:
        movielens.load_ratings(tmp_path)
    assert str(tmp_path / "u.data") in str(error.value)


def test_ids_are_renumbered_densely_so_a_huge_id_allocates_nothing(tmp_path, movielens_dir):
    real = movielens.load_ratings(movielens_dir)
    assert (real == movielens.read_u_data(f"{movielens_dir}/u.data")).all()  # MovieLens 100K's ids are dense already
    (tmp_path / "u.data").write_text("196\t242\t3\t881250949\n99999999\t7\t4\t881250949\n5\t99999999\t1\t1\n")
    rows = movielens.load_ratings(tmp_path)
    assert rows.tolist() == [[2, 2, 3], [3, 1, 4], [1, 3, 1]]


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
                            "--autorec-l2", "0.1", "--autorec-input-dropout", "0.5", "--mf-l2", "0.1", "--mf-epochs",
                            "3", "--bias-regularization", "5", "25", "--out-dir", str(tmp_path)])
    fits = json.loads((tmp_path / "results.json").read_text())["results"]
    assert set(fits) == {"0/global_mean/None", "0/biases/5.0", "0/biases/25.0", "0/biased_mf/0.1",
                         "0/i_autorec/0.1,0.5", "0/u_autorec/0.1,0.5"}
    test = {key.split("/")[1]: fit["test"] for key, fit in fits.items() if not key.endswith("25.0")}
    assert 1.0 < test["global_mean"] < 1.2 and test["biases"] < test["global_mean"]
    assert all(0.85 < value < 1.3 for value in test.values())
    table = (tmp_path / "results.md").read_text()
    best_bias = min(("5.0", "25.0"), key=lambda v: fits[f"0/biases/{v}"]["validation"])
    assert f"| biases | regularization in [{best_bias}] |" in table and "| global_mean | - |" in table
    assert "sample standard deviation" in table  # of one split there is none: "± n/a"
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
    assert predictor.validation_rmse == movielens.rmse(predictor.predict(rows[:10]), rows[:10])


def small_ratings(seed=0, users=30, items=40):
    """(user, item, rating) rows, ids from 1, of a noisy rank-2 matrix with about 60% of its entries observed."""
    rng = np.random.default_rng(seed)
    full = 3 + rng.normal(size=(users, 2)) @ rng.normal(size=(2, items)) + rng.normal(0, 0.7, (users, items))
    full = np.clip(np.round(full), 1, 5)
    return np.array([(u + 1, i + 1, full[u, i]) for u in range(users) for i in range(items) if rng.random() < 0.6],
                    np.int64)


def write_u_data(directory, rows):
    (directory / "u.data").write_text("".join(f"{u}\t{i}\t{r}\t881250949\n" for u, i, r in rows))


@pytest.mark.parametrize("patience", [3, 100], ids=["stopped-early", "ran-to-the-end"])
def test_early_stopping_keeps_the_best_epochs_weights(patience):
    rows = small_ratings()
    train, validation = rows[:600], rows[600:]
    predictor = recommenders.BiasedMF(factors=8, l2=0.0, learning_rate=0.05, epochs=25, batch_size=50,
                                      patience=patience)
    predictor.fit(train, validation, (30, 40), 0)
    scores = predictor.history["val_rmse"]  # written by ValidationRMSE, read by EarlyStopping
    assert len(scores) == (predictor.best_epoch + patience if patience == 3 else 25)
    assert scores[-1] > min(scores)  # the last epoch is not the best, so keeping the best one matters
    assert predictor.validation_rmse == min(scores) == scores[predictor.best_epoch - 1]
    assert movielens.rmse(predictor.predict(validation), validation) == predictor.validation_rmse


def test_matrix_factorization_loss_by_hand():
    model = recommenders.MatrixFactorization(4, 3, factors=2, l2=0.5, mean=3.0, seed=0)
    model.user_bias.embeddings.assign([[0.5], [0.0], [-1.0], [0.0]])
    users, items, ratings = np.array([0, 2, 2]), np.array([1, 0, 2]), np.array([5.0, 1.0, 2.0], np.float32)
    p, q = model.user_factors.embeddings.numpy()[users], model.item_factors.embeddings.numpy()[items]
    predictions = 3.0 + np.array([0.5, -1.0, -1.0]) + np.sum(p * q, axis=1)
    np.testing.assert_allclose(model((users, items)).numpy(), predictions, rtol=1e-6)
    losses = model.losses_of(((users, items), ratings))
    penalty = 0.5 * np.mean(np.sum(p * p, 1) + np.sum(q * q, 1) + np.array([0.25, 1.0, 1.0]))
    assert float(losses["squared_error"]) == pytest.approx(np.mean((ratings - predictions) ** 2), rel=1e-5)
    assert float(losses["penalty"]) == pytest.approx(penalty, rel=1e-5)
    assert float(losses["loss"]) == pytest.approx(float(losses["squared_error"]) + penalty, rel=1e-5)


def test_recipe_reuses_fits_only_for_the_same_u_data_and_settings(tmp_path, capsys):
    from recipes import autorec_movielens
    from zoo.errors import ZooError

    data_dir, out = tmp_path / "ml", tmp_path / "out"
    data_dir.mkdir()
    rows = small_ratings(users=20, items=25)
    write_u_data(data_dir, rows)
    argv = ["--data-dir", str(data_dir), "--splits", "1", "--epochs", "2", "--hidden-units", "4", "--autorec-l2",
            "0.1", "--autorec-input-dropout", "0", "--mf-l2", "0.1", "--mf-epochs", "2", "--bias-regularization", "5", "--out-dir", str(out)]
    autorec_movielens.main(argv)
    results = out / "results.json"
    saved = json.loads(results.read_text())
    assert saved["data"] == movielens.ratings_fingerprint(data_dir)
    for fit in saved["results"].values():  # marks what a rerun serves from the file
        fit["test"] = 3.25  # an RMSE in range: a value out of range is not reused (tests/test_caches.py)
    results.write_text(json.dumps(saved))
    autorec_movielens.main(argv)
    assert "| 3.2500 ± n/a |" in (out / "results.md").read_text()  # the same u.data: served from the file

    rows[0, 2] = 1 if rows[0, 2] != 1 else 2
    write_u_data(data_dir, rows)
    capsys.readouterr()
    autorec_movielens.main(argv)
    assert "the data changed since" in capsys.readouterr().out
    recomputed = json.loads(results.read_text())
    assert recomputed["data"] == movielens.ratings_fingerprint(data_dir) != saved["data"]
    assert set(recomputed["results"]) == set(saved["results"])
    assert all(fit["test"] != 3.25 for fit in recomputed["results"].values())
    assert "3.2500" not in (out / "results.md").read_text()

    with pytest.raises(ZooError, match=r"other settings \(mf_l2=\[0.1\] there, mf_l2=\[0.2\] now\)"):
        autorec_movielens.main([*argv, "--mf-l2", "0.2"])


def test_autorec_keras_round_trip(tmp_path):
    model = zoo.get("autorec", num_inputs=12, hidden_units=5, l2=0.2, input_dropout=0.1, seed=4)
    model.save(tmp_path / "autorec.keras")
    loaded = zoo.load(tmp_path / "autorec.keras")
    ratings = np.random.default_rng(0).integers(0, 6, (3, 12)).astype(np.float32)
    np.testing.assert_array_equal(loaded(ratings).numpy(), model(ratings).numpy())
    assert loaded.l2 == 0.2 and loaded.num_inputs == 12 and loaded.input_dropout == 0.1
