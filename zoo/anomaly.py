"""Anomaly detection with trained zoo models: per-image anomaly scores, a threshold chosen on held-out
normal data for a target false-positive rate, and the ROC curve, AUROC, precision and recall.

A higher score means more anomalous. Scores (`SCORES`, by name):
  reconstruction       reconstruction error of each image (cross-entropy in nats for sigmoid outputs,
                       squared error for linear ones; for the VAE, at the posterior mean)
  neg_elbo             -ELBO in nats (the VAE's own `anomaly_score`: the decoder's cross-entropy averaged over
                       a fixed set of posterior draws, plus the KL term)
  neg_log_likelihood   -log p(x), importance-sampled with k posterior draws (the VAE)
"""

import numpy as np
import tensorflow as tf

from zoo import metrics


def _per_batch(function, images, batch_size):
    return np.concatenate([np.asarray(function(tf.constant(images[start:start + batch_size])), np.float64)
                           for start in range(0, len(images), batch_size)])


def reconstruction_scores(model, images, batch_size=500, **unused):
    """Per-image reconstruction error: an autoencoder's own `anomaly_score`; for the VAE, the cross-entropy
    of the image under the decoder at the posterior mean."""
    if hasattr(model, "importance_terms"):
        from zoo.models.ae import per_image_error

        def errors(batch):
            return per_image_error("sigmoid", batch, model.decode_outputs(model.encode(batch))["logits"])

        return _per_batch(errors, images, batch_size)
    return _per_batch(model.anomaly_score, images, batch_size)


def neg_elbo_scores(model, images, batch_size=500, **unused):
    """-ELBO per image from the VAE's deterministic `anomaly_score`."""
    return _per_batch(model.anomaly_score, images, batch_size)


def neg_log_likelihood_scores(model, images, batch_size=100, samples=100, **unused):
    """-log p(x) per image, importance-sampled with `samples` posterior draws (fixed seed)."""
    return -metrics.per_image_log_likelihood(model, images, samples, batch_size=batch_size, progress=False)


# name -> (which models it applies to, the score function)
SCORES = {
    "reconstruction": (lambda model: hasattr(model, "encode"), reconstruction_scores),
    "neg_elbo": (lambda model: hasattr(model, "importance_terms"), neg_elbo_scores),
    "neg_log_likelihood": (lambda model: hasattr(model, "importance_terms"), neg_log_likelihood_scores),
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


def threshold_at_false_positive_rate(normal_scores, false_positive_rate):
    """The score above which a fraction `false_positive_rate` of held-out normal scores lies."""
    if not 0 < false_positive_rate < 1:
        raise ValueError(f"false_positive_rate must be in (0, 1); received {false_positive_rate}")
    return float(np.quantile(np.asarray(normal_scores, np.float64), 1 - false_positive_rate))


def auroc(scores_, is_anomaly):
    """Area under the ROC curve: the probability that a random anomaly scores above a random normal
    image, ties counting one half (the Mann-Whitney statistic, from average ranks)."""
    scores_, is_anomaly = np.asarray(scores_, np.float64), np.asarray(is_anomaly, bool)
    positives, negatives = int(is_anomaly.sum()), int((~is_anomaly).sum())
    if not positives or not negatives:
        raise ValueError(f"AUROC needs both classes; received {positives} anomalies and {negatives} normal images")
    order = np.argsort(scores_, kind="mergesort")
    ranks = np.empty(len(scores_), np.float64)
    ranks[order] = np.arange(1, len(scores_) + 1)
    sorted_scores = scores_[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], len(scores_)]
    for start, end in zip(starts, ends):  # ties share their average rank
        if end - start > 1:
            ranks[order[start:end]] = (start + 1 + end) / 2
    return float((ranks[is_anomaly].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def roc_curve(scores_, is_anomaly):
    """(false-positive rates, true-positive rates) over every threshold, from (0, 0) to (1, 1)."""
    scores_, is_anomaly = np.asarray(scores_, np.float64), np.asarray(is_anomaly, bool)
    order = np.argsort(-scores_, kind="mergesort")
    hits = np.cumsum(is_anomaly[order])
    false_alarms = np.cumsum(~is_anomaly[order])
    last_of_tie = np.r_[scores_[order][1:] != scores_[order][:-1], True]
    tpr = np.r_[0.0, hits[last_of_tie] / max(1, is_anomaly.sum())]
    fpr = np.r_[0.0, false_alarms[last_of_tie] / max(1, (~is_anomaly).sum())]
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
    fraction `false_positive_rate` of held-out normal images scores."""
    normal = _per_batch(model.anomaly_score, normal_images, batch_size)
    return {"endpoint": "score", "score": model.anomaly_score_description,
            "threshold": threshold_at_false_positive_rate(normal, false_positive_rate),
            "target_false_positive_rate": false_positive_rate, "held_out_data": held_out_data,
            "held_out_images": int(len(normal_images)), "median_normal_score": float(np.median(normal))}
