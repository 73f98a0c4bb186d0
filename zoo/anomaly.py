"""Anomaly detection with trained zoo models: per-image anomaly scores, a threshold chosen on held-out
normal data for a target false-positive rate, and the ROC curve, AUROC, precision and recall.

A higher score means more anomalous. Scores (`SCORES`, by name):
  reconstruction       reconstruction error of each image (cross-entropy in nats for sigmoid outputs,
                       squared error for linear ones; for the VAE, at the posterior mean)
  neg_elbo             -ELBO in nats (the VAE's `neg_elbo`: the decoder's cross-entropy averaged over a fixed set
                       of posterior draws, plus the KL term)
  neg_elbo_per_png_bit, neg_elbo_minus_png_nats, neg_elbo_minus_weighted_png_nats
                       -ELBO set against the image's complexity, the length of its PNG encoding (Serrà et
                       al., 2020): divided by it, minus it, or minus a weight w times it, w set by
                       `decorrelating_weight` (see `VAE.ANOMALY_SCORES`)
  neg_log_likelihood   -log p(x), importance-sampled with k posterior draws (the VAE)
"""

import numpy as np
from scipy import stats
from sklearn import metrics as sk_metrics

from zoo import metrics
from zoo.batching import apply_in_batches
from zoo.losses import png_bits
from zoo.models.vae import VAE


def reconstruction_scores(model, images, batch_size=500, **unused):
    """Per-image reconstruction error (`model.reconstruction_error`; for the VAE, -log p(x | z) at the posterior
    mean), in model units (of the standardized inputs when the model standardizes)."""
    return apply_in_batches(lambda batch: model.reconstruction_error(model.standardized(batch)), images, batch_size,
                            np.float64)


def named_model_score(name):
    """The score function of the model's own anomaly score `name` (the VAE's ANOMALY_SCORES)."""

    def score(model, images, batch_size=500, **unused):
        return apply_in_batches(lambda batch: model.named_anomaly_score(model.standardized(batch), name), images,
                                batch_size, np.float64)

    return score


def neg_log_likelihood_scores(model, images, batch_size=100, samples=100, **unused):
    """-log p(x) per image, importance-sampled with `samples` posterior draws (fixed seed)."""
    return -metrics.per_image_log_likelihood(model, images, samples, batch_size=batch_size, progress=False)


def _unconditional_autoencoder(model):
    return "encode" in model.ENDPOINTS and not model.takes_labels


def _has_likelihood(model):
    return model.evaluation == "likelihood" and not model.takes_labels


def _has_model_score(name):
    """Whether a model has its own anomaly score `name` (the PNG ones only for images in [0, 1]: VAE.anomaly_scores)."""
    return lambda model: _has_likelihood(model) and name in model.anomaly_scores


# name -> (which models it applies to, the score function)
SCORES = {
    "reconstruction": (_unconditional_autoencoder, reconstruction_scores),
    **{name: (_has_model_score(name), named_model_score(name)) for name in VAE.ANOMALY_SCORES},
    "neg_log_likelihood": (_has_likelihood, neg_log_likelihood_scores),
}


def score_names(model):
    """The names of the scores that apply to `model`."""
    return [name for name, (applies, _) in SCORES.items() if applies(model)]


def scores(model, images, name="reconstruction", **kwargs):
    """Per-image anomaly scores [n] (float64, higher = more anomalous) of the score `name` (see SCORES)."""
    if name not in SCORES:
        raise ValueError(f"unknown anomaly score {name!r}; known: {', '.join(SCORES)}")
    applies, function = SCORES[name]
    if not applies(model):
        raise ValueError(f"the {name} score does not apply to {type(model).__name__}; its scores: "
                         f"{', '.join(score_names(model))}")
    return function(model, images, **kwargs)


def complexity_correlation(normal_scores, normal_images):
    """Spearman's rank correlation between scores of normal images and the images' complexity (`png_bits`).

    Chooses between scores with normal images alone: a score that ranks normal images by their complexity will
    rank anomalies by it too, flagging complex ones and passing simple ones whatever their class (Serrà et al.,
    2020), so the score whose correlation is nearest 0 on held-out normal images is preferred."""
    complexity = apply_in_batches(png_bits, normal_images, 500, np.float64)
    return float(stats.spearmanr(np.asarray(normal_scores, np.float64), complexity).statistic)


def decorrelating_weight(normal_scores, normal_images, weights=np.linspace(0, 1, 101)):
    """The weight w among `weights` for which normal_scores - w * (PNG length in nats) has the rank correlation with
    the PNG length nearest 0 on the normal images: how much of a likelihood score is the image's complexity alone.
    A grid, because Spearman's correlation is a step function of w."""
    nats = np.log(2) * apply_in_batches(png_bits, normal_images, 500, np.float64)
    scores_ = np.asarray(normal_scores, np.float64)
    correlations = [abs(stats.spearmanr(scores_ - weight * nats, nats).statistic) for weight in weights]
    return float(weights[int(np.argmin(correlations))])


def threshold_at_false_positive_rate(normal_scores, false_positive_rate):
    """The score above which a fraction `false_positive_rate` of held-out normal scores lies."""
    if not 0 < false_positive_rate < 1:
        raise ValueError(f"false_positive_rate must be in (0, 1); received {false_positive_rate}")
    return float(np.quantile(np.asarray(normal_scores, np.float64), 1 - false_positive_rate))


def _both_classes(is_anomaly):
    is_anomaly = np.asarray(is_anomaly, bool)
    positives, negatives = int(is_anomaly.sum()), int((~is_anomaly).sum())
    if not positives or not negatives:
        raise ValueError(f"AUROC needs both classes; received {positives} anomalies and {negatives} normal images")
    return is_anomaly


def auroc(scores_, is_anomaly):
    """Area under the ROC curve: the probability that a random anomaly scores above a random normal image,
    ties counting one half (scikit-learn's roc_auc_score)."""
    return float(sk_metrics.roc_auc_score(_both_classes(is_anomaly), np.asarray(scores_, np.float64)))


def roc_curve(scores_, is_anomaly):
    """(false-positive rates, true-positive rates) over every threshold, from (0, 0) to (1, 1)."""
    fpr, tpr, _ = sk_metrics.roc_curve(_both_classes(is_anomaly), np.asarray(scores_, np.float64),
                                       drop_intermediate=False)
    return fpr, tpr


def precision_recall(scores_, is_anomaly, threshold):
    """Precision, recall and false-positive rate of flagging the images that score above `threshold`."""
    flagged, is_anomaly = np.asarray(scores_) > threshold, np.asarray(is_anomaly, bool)
    true_positives = int(np.sum(flagged & is_anomaly))
    return {"precision": true_positives / max(1, int(flagged.sum())),
            "recall": true_positives / max(1, int(is_anomaly.sum())),
            "false_positive_rate": int(np.sum(flagged & ~is_anomaly)) / max(1, int((~is_anomaly).sum()))}


CARD_FALSE_POSITIVE_RATE = 0.01


def card_entry(model, normal_images, held_out_data, false_positive_rate=CARD_FALSE_POSITIVE_RATE, batch_size=500):
    """The card's "anomaly" entry: what the `score` endpoint computes and the threshold above which a
    fraction `false_positive_rate` of the normal images `normal_images` (described by `held_out_data`) scores."""
    normal = apply_in_batches(lambda batch: model.anomaly_score(model.standardized(batch)), normal_images, batch_size,
                              np.float64)
    return {"endpoint": "score", "score": model.anomaly_score_description,
            "threshold": threshold_at_false_positive_rate(normal, false_positive_rate),
            "target_false_positive_rate": false_positive_rate, "held_out_data": held_out_data,
            "held_out_images": int(len(normal_images)), "median_normal_score": float(np.median(normal))}
