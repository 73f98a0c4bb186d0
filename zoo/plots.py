"""Figures: reconstructions, samples, the latent space and interpolations, as PNGs.

`draw_all` draws every figure that applies to a model and its data (images: grids; a table: its columns as
scatter plots and histograms); each figure function returns the path it wrote, or None when the model lacks what
it needs (e.g. no `sample` endpoint for a deterministic autoencoder).
"""

import dataclasses
from pathlib import Path

import keras
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402

from zoo.anomaly import roc_curve  # noqa: E402
from zoo.batching import apply_in_batches  # noqa: E402

TSNE_CODES = 1000  # t-SNE of 32-d codes on 2 cores: 6.3 s for 1000, 9.7 s for 2000; the first test codes only
TABLE_COLUMNS = 12  # the columns a table's figures show (the first ones): more make the panels unreadable


@dataclasses.dataclass(frozen=True)
class Look:
    """What the figures call the data and how they show it: MNIST's digits dark on white (`inverted`), named by
    their class; another source's images as they are (grayscale or colour), its classes by `class_names` (None:
    unlabelled, nothing coloured by class), a table's columns by `columns`."""

    noun: str = "digits"
    inverted: bool = True
    class_names: tuple | None = tuple(str(digit) for digit in range(10))
    columns: tuple | None = None

    @property
    def class_noun(self):
        return "digit" if self.noun == "digits" else "class"


DIGITS = Look()


def look_of(dataset):
    """The Look of a zoo.data.Data: MNIST's for --data mnist, else plain images (or rows) named by the source."""
    if dataset.spec == "mnist":
        return DIGITS
    return Look(noun="rows" if dataset.kind == "table" else "images", inverted=False,
                class_names=tuple(dataset.class_names) if dataset.has_labels and dataset.class_names else None,
                columns=tuple(dataset.columns) if dataset.columns else None)


def _canvas(images, rows):
    """Images [n, h, w, C] (C = 1 or 3) tiled into one array with `rows` rows and a 1-pixel margin around each
    ([H, W] for one channel, [H, W, 3] for colour); the column count."""
    images = np.clip(np.asarray(images, np.float32), 0.0, 1.0)
    images = images[..., 0] if images.shape[-1] == 1 else images
    cols = int(np.ceil(len(images) / rows))
    h, w = images.shape[1:3]
    canvas = np.ones((rows * (h + 2), cols * (w + 2), *images.shape[3:]), np.float32)
    for index, image in enumerate(images):
        r, c = divmod(index, cols)
        canvas[r * (h + 2) + 1:r * (h + 2) + 1 + h, c * (w + 2) + 1:c * (w + 2) + 1 + w] = image
    return canvas, cols


def _show(ax, canvas, inverted):
    """Draws a canvas: one channel in gray (dark on white when `inverted`, as MNIST is shown), colour as it is."""
    ax.imshow(canvas, cmap="gray_r" if inverted else "gray", vmin=0, vmax=1, interpolation="nearest")


def image_grid(images, rows, path, title=None, row_labels=None, inverted=True):
    """Saves images [n, h, w, C] in [0, 1] as a grid with `rows` rows (one channel: dark on white if `inverted`)."""
    canvas, cols = _canvas(images, rows)
    h = np.asarray(images).shape[1]
    fig, ax = plt.subplots(figsize=(cols * 0.45 + 1.2, rows * 0.45 + 0.6))
    _show(ax, canvas, inverted)
    ax.set_xticks([])
    ax.set_yticks([(h + 2) * (r + 0.5) for r in range(rows)] if row_labels else [])
    if row_labels:
        ax.set_yticklabels(row_labels, fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def grids_side_by_side(panels, rows, path, columns=3, inverted=True):
    """Saves one figure of image grids, `columns` per line: panels is a list of (title, images [n, h, w, C])."""
    lines = int(np.ceil(len(panels) / columns))
    fig, axes = plt.subplots(lines, columns, figsize=(columns * 3.4, lines * 3.6), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (title, images) in zip(axes.flat, panels):
        _show(ax, _canvas(images, rows)[0], inverted)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def reconstructions(model, images, labels, out_dir, seed, look=DIGITS):
    """Test inputs in odd rows, their reconstructions beneath."""
    if "reconstruct" not in model.ENDPOINTS:
        return None
    picked = images[:40]
    inputs = (tf.constant(picked), tf.constant(labels[:40])) if model.takes_labels else picked
    recon = model(inputs).numpy()
    rows = [block for i in range(0, len(picked), 10) for block in (picked[i:i + 10], recon[i:i + 10])]
    return image_grid(np.concatenate(rows), len(rows), out_dir / "reconstructions.png",
                      f"test {look.noun} (input) and their reconstructions",
                      ["input", "reconstruction"] * (len(rows) // 2), inverted=look.inverted)


def samples(model, images, labels, out_dir, seed, look=DIGITS):
    """100 samples of a generative model (one row per class, ten each, for a conditional one)."""
    if "sample" not in model.ENDPOINTS:
        return None
    if model.takes_labels:
        classes = range(model.num_classes)
        names = look.class_names or tuple(str(c) for c in classes)
        rows = [model.sample(10, tf.constant([seed, c], tf.int64), c).numpy() for c in classes]
        return image_grid(np.concatenate(rows), len(rows), out_dir / "samples.png",
                          f"sample(10, seed, {look.class_noun}), one row per {look.class_noun}",
                          [names[c] for c in classes], inverted=look.inverted)
    drawn = model.sample(100, tf.constant([seed, 0], tf.int64)).numpy()
    return image_grid(drawn, 10, out_dir / "samples.png",
                      getattr(model, "samples_title", "decoded draws from the prior (Bernoulli means)"),
                      inverted=look.inverted)


def _class_colours(ax, values, labels, look, **scatter):
    """Scatter of 2-D `values`, coloured by class when the data has labels; the scatter's artist."""
    if look.class_names is None:
        return ax.scatter(values[:, 0], values[:, 1], s=3, **scatter)
    count = len(look.class_names)
    colours = matplotlib.colors.ListedColormap(plt.get_cmap("tab10").colors[:count]) if count <= 10 else "viridis"
    return ax.scatter(values[:, 0], values[:, 1], c=labels[:len(values)], s=3, cmap=colours, vmin=-0.5,
                      vmax=count - 0.5, **scatter)


def latent_space(model, images, labels, out_dir, seed, look=DIGITS):
    """The 2-D manifold when a VAE's code has 2 dimensions (images); else the test codes on their top-2 principal
    axes beside a t-SNE map of the first TSNE_CODES of them (which separates the digits where PCA cannot)."""
    if "encode" not in model.ENDPOINTS or model.takes_labels:
        return None
    is_table = len(model.image_shape) == 1
    if model.code_size == 2 and "sample" in model.ENDPOINTS and not is_table:  # decode the N(0, I) quantiles
        quantiles = np.linspace(0.03, 0.97, 15, dtype=np.float32)
        normal = tf.constant(quantiles)
        values = (np.sqrt(2.0) * tf.math.erfinv(2.0 * normal - 1.0)).numpy()
        grid = np.array([[x, y] for y in values[::-1] for x in values], np.float32)
        return image_grid(model.raw(model.decode(tf.constant(grid))).numpy(), 15, out_dir / "latent_space.png",
                          "the learned manifold: decoded Gaussian quantiles of z", inverted=look.inverted)
    codes = apply_in_batches(lambda x: model.encode(model.standardized(x)), images[:5000], 1000)
    centred = codes - codes.mean(0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ axes[:2].T
    explained = singular[:2] ** 2 / np.sum(singular ** 2)
    fig, (pca_ax, tsne_ax) = plt.subplots(1, 2, figsize=(10, 4.6), layout="constrained")
    _class_colours(pca_ax, projected, labels, look)
    pca_ax.set_title(f"PCA of {len(codes)} test codes: top-2 axes\n({explained.sum():.0%} of the variance)", fontsize=9)
    count = min(TSNE_CODES, len(codes))
    perplexity = min(30, (count - 1) / 3)  # t-SNE needs fewer neighbours than points: a small test set has few
    mapped = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(codes[:count])
    scatter = _class_colours(tsne_ax, mapped, labels, look)
    tsne_ax.set_title(f"t-SNE of the first {count} test codes\n(perplexity {perplexity:g})", fontsize=9)
    for ax in (pca_ax, tsne_ax):
        ax.set_xticks([])
        ax.set_yticks([])
    if look.class_names is not None:
        bar = fig.colorbar(scatter, ax=[pca_ax, tsne_ax], ticks=range(len(look.class_names)), label=look.class_noun,
                           shrink=0.9)
        if len(look.class_names) <= 20:
            bar.ax.set_yticklabels(look.class_names)
    path = out_dir / "latent_space.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def lerp(start, end, steps):
    """Linear interpolation between codes, [steps, d]."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return ((1 - t) * np.asarray(start, np.float64) + t * np.asarray(end, np.float64)).astype(np.float32)


def slerp(start, end, steps):
    """Spherical linear interpolation (White, 2016) between codes, [steps, d].

    The direction moves along the great circle between the endpoints' directions and the norm moves
    linearly between their norms, so every point's norm lies between the endpoints' (for endpoints of
    equal norm this is White's slerp). Linear where the endpoints are parallel or one is zero.
    """
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    start_norm, end_norm = np.linalg.norm(start), np.linalg.norm(end)
    if min(start_norm, end_norm) < 1e-12:
        return lerp(start, end, steps)
    cos = np.dot(start, end) / (start_norm * end_norm)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return lerp(start, end, steps)
    direction = (np.sin((1 - t) * omega) * start / start_norm + np.sin(t * omega) * end / end_norm) / np.sin(omega)
    return (direction * ((1 - t) * start_norm + t * end_norm)).astype(np.float32)


def interpolation(model, images, labels, out_dir, seed, look=DIGITS):
    """Slerp between the codes of pairs of test inputs (of different classes when the data has labels)."""
    if "encode" not in model.ENDPOINTS or model.takes_labels or len(images) < 2:
        return None
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(6):
        a, b = rng.choice(len(images), 2, replace=False)
        while look.class_names is not None and labels[a] == labels[b] and len(set(labels.tolist())) > 1:
            b = rng.integers(len(images))
        codes = model.encode(model.standardized(tf.constant(images[[a, b]]))).numpy()
        rows.append(model.raw(model.decode(tf.constant(slerp(codes[0], codes[1], 10)))).numpy())
    return image_grid(np.concatenate(rows), 6, out_dir / "interpolation.png",
                      f"slerp between the codes of two test {look.noun} (ends are reconstructions)",
                      inverted=look.inverted)


def denoising(model, images, labels, out_dir, seed, look=DIGITS):
    """For models that corrupt their training inputs: corrupted test inputs, their restorations, the clean ones."""
    if not hasattr(model, "corrupt"):
        return None
    clean = images[:30]
    corrupted = np.clip(model.corrupt(tf.constant(clean), tf.constant([seed, 1])).numpy(), 0.0, 1.0)
    restored = model(tf.constant(corrupted)).numpy()
    rows = [block for i in range(0, len(clean), 10) for block in (corrupted[i:i + 10], restored[i:i + 10],
                                                                  clean[i:i + 10])]
    return image_grid(np.concatenate(rows), len(rows), out_dir / "denoising.png",
                      f"{model.corruption} (level {model.noise_level:g}): corrupted, restored, clean",
                      ["corrupted", "restored", "clean"] * (len(rows) // 3), inverted=look.inverted)


def principal_components(model, images, labels, out_dir, seed, look=DIGITS):
    """For the linear autoencoder: its decoder's left singular vectors as images, each scaled to [0, 1]."""
    if not hasattr(model, "principal_components"):
        return None
    components = model.principal_components().numpy().T[:20]
    low, high = components.min(axis=1, keepdims=True), components.max(axis=1, keepdims=True)
    scaled = ((components - low) / (high - low)).reshape(-1, *model.image_shape)
    return image_grid(scaled, 2, out_dir / "principal_components.png",
                      "decoder's left singular vectors, by singular value (white = low, black = high)")


def misclassified(model, images, labels, out_dir, seed, look=DIGITS):
    """For classifiers: the first 40 misclassified test inputs, titled with the true and predicted classes."""
    if "classify" not in model.ENDPOINTS:
        return None
    predicted = np.argmax(apply_in_batches(model.classify, images, 1000)["probs"], -1)
    wrong = np.flatnonzero(predicted != labels)[:40]
    rows = [f"{'  '.join(f'{labels[i]}>{predicted[i]}' for i in wrong[r:r + 10])}" for r in range(0, len(wrong), 10)]
    return image_grid(images[wrong], max(1, len(rows)), out_dir / "misclassified.png",
                      f"{len(np.flatnonzero(predicted != labels))} of {len(labels)} test {look.noun} misclassified "
                      "(true>predicted, row by row)", rows or None, inverted=look.inverted)


def _column_panels(count, title):
    """A figure of `count` small panels, 4 per line; the figure and its axes (unused ones hidden)."""
    lines = int(np.ceil(count / 4))
    fig, axes = plt.subplots(lines, 4, figsize=(11, 2.5 * lines + 0.6), squeeze=False, layout="constrained")
    for ax in axes.flat[count:]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    return fig, axes.flat[:count]


def _column_name(look, index):
    return look.columns[index] if look.columns and index < len(look.columns) else f"column {index}"


def table_reconstructions(model, rows, labels, out_dir, seed, look=DIGITS):
    """For a table: each of the first TABLE_COLUMNS columns' test values against their reconstructions (raw
    units), with the share of the column's variance the reconstruction explains (R^2)."""
    if "reconstruct" not in model.ENDPOINTS or len(model.image_shape) != 1:
        return None
    recon = apply_in_batches(model, rows, 1000)
    shown = min(TABLE_COLUMNS, rows.shape[1])
    fig, axes = _column_panels(shown, f"test {look.noun}: each column's value (x) and its reconstruction (y); "
                                      f"the first {shown} of {rows.shape[1]} columns")
    for index, ax in enumerate(axes):
        truth, rebuilt = rows[:, index], recon[:, index]
        ax.scatter(truth, rebuilt, s=4, alpha=0.6)
        low, high = float(min(truth.min(), rebuilt.min())), float(max(truth.max(), rebuilt.max()))
        ax.plot([low, high], [low, high], color="grey", linestyle=":", linewidth=1)
        ax.set_title(f"{_column_name(look, index)}\nR² {r2_score(truth, rebuilt):.2f}", fontsize=8)
        ax.tick_params(labelsize=7)
    path = out_dir / "reconstructions.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def table_samples(model, rows, labels, out_dir, seed, look=DIGITS):
    """For a generative model of a table: histograms of the first TABLE_COLUMNS columns in the test rows and in
    as many samples (raw units)."""
    if "sample" not in model.ENDPOINTS or model.takes_labels or len(model.image_shape) != 1:
        return None
    count = min(len(rows), 1000)
    drawn = model.raw(model.sample(count, tf.constant([seed, 0], tf.int64))).numpy()
    shown = min(TABLE_COLUMNS, rows.shape[1])
    fig, axes = _column_panels(shown, f"{count} samples against {count} test {look.noun}: the first {shown} of "
                                      f"{rows.shape[1]} columns")
    for index, ax in enumerate(axes):
        both = np.concatenate([rows[:count, index], drawn[:, index]])
        bins = np.linspace(np.percentile(both, 0.5), np.percentile(both, 99.5), 30)
        ax.hist(rows[:count, index], bins=bins, alpha=0.5, density=True, label="test")
        ax.hist(drawn[:, index], bins=bins, alpha=0.5, density=True, label="samples")
        ax.set_title(_column_name(look, index), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    axes[0].legend(fontsize=7)
    path = out_dir / "samples.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


class GeneratorProgress(keras.callbacks.Callback):
    """Draws the model's `generate` on the same `count` codes after every epoch, so progress is visible:
    out_dir/epoch-NNNN.png."""

    def __init__(self, out_dir, seed=0, count=64):
        super().__init__()
        self.out_dir, self.seed, self.count = Path(out_dir), seed, count

    def on_epoch_end(self, epoch, logs=None):
        codes = tf.random.stateless_normal([self.count, self.model.latent_dim], seed=[self.seed, 7])
        self.out_dir.mkdir(parents=True, exist_ok=True)
        image_grid(self.model.generate(codes).numpy(), 8, self.out_dir / f"epoch-{epoch + 1:04d}.png",
                   f"epoch {epoch + 1}: the same {self.count} codes every epoch")


# The figures of each kind of data (zoo.data_spec's kinds); each is drawn where its model has what it needs.
FIGURES = {
    "images": (reconstructions, samples, latent_space, interpolation, denoising, principal_components, misclassified),
    "table": (table_reconstructions, table_samples, latent_space),
}


def draw_all(model, dataset, out_dir, seed=0):
    """Draws every figure that applies to `model` and its data from the test split (`raw_test_inputs` for a table:
    the figures show raw units); returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = dataset.raw_test_inputs if dataset.kind == "table" else dataset.test_images
    look = look_of(dataset)
    written = [figure(model, inputs, dataset.test_labels, out_dir, seed, look) for figure in FIGURES[dataset.kind]]
    return [path for path in written if path is not None]


# Moving in the latent space of any exported artifact (callables on numpy arrays, no Keras needed).

def interpolation_comparison(decode, pairs, path, steps=10, title=None):
    """For each pair of codes, a row of linear interpolation and a row of slerp beneath, decoded."""
    rows, labels = [], []
    for start, end in pairs:
        rows += [decode(lerp(start, end, steps)), decode(slerp(start, end, steps))]
        labels += ["linear", "slerp"]
    return image_grid(np.concatenate(rows), len(rows), path,
                      title or "linear (upper) and spherical (lower) interpolation between the same codes", labels)


def attribute_vectors(encode, decode, images, labels, path, count=8, seed=0, classes=(0, 1, 6, 8)):
    """For each digit d of `classes`: the attribute vector (mean code of d minus mean code of the other digits)
    added, with weights 0 to 1.5, to the codes of `count` test digits of other classes; one block per digit."""
    codes = apply_in_batches(encode, images, 1000)
    rng = np.random.default_rng(seed)
    strengths = np.linspace(0.0, 1.5, 6, dtype=np.float32)
    rows, row_labels = [], []
    for digit in classes:
        vector = codes[labels == digit].mean(0) - codes[labels != digit].mean(0)
        others = rng.choice(np.flatnonzero(labels != digit), size=count, replace=False)
        grid = codes[others][:, None, :] + strengths[None, :, None] * vector  # [count, strengths, d]
        decoded = decode(grid.reshape(-1, codes.shape[1]).astype(np.float32))
        rows.append(decoded.reshape(count, len(strengths), *decoded.shape[1:]).transpose(1, 0, 2, 3, 4)
                    .reshape(-1, *decoded.shape[1:]))
        row_labels += [f"+{s:.1f} v({digit})" for s in strengths]
    return image_grid(np.concatenate(rows), len(row_labels), path,
                      "adding v(d) = mean code of d - mean code of the rest", row_labels)


def roc_curves(curves, path, title, legend_title="normal digit", normal="normal digits"):
    """ROC curves, one per entry of `curves` {label: (scores, is_anomaly, auroc)}; `legend_title` heads the labels,
    `normal` names what the false positives are."""
    fig, ax = plt.subplots(figsize=(5.2, 5))
    for label, (scores, is_anomaly, auroc) in curves.items():
        fpr, tpr = roc_curve(scores, is_anomaly)
        ax.plot(fpr, tpr, linewidth=1.2, label=f"{label}: AUROC {auroc:.3f}")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel(f"false-positive rate ({normal} flagged)")
    ax.set_ylabel("true-positive rate (anomalies flagged)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, title=legend_title, title_fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def frechet_curve(curve, path, title):
    """The Fréchet distance of a generator's samples against training minutes; `curve` is a list of
    {"epoch", "minutes", "frechet_distance"}; the best point is marked."""
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    minutes, distances = [point["minutes"] for point in curve], [point["frechet_distance"] for point in curve]
    ax.plot(minutes, distances, marker="o", markersize=3, linewidth=1.2)
    best = int(np.argmin(distances))
    ax.plot(minutes[best], distances[best], marker="*", markersize=12, color="tab:red",
            label=f"best: epoch {curve[best]['epoch']}, {distances[best]:.1f}")
    ax.set_xlabel("training minutes (wall clock, measurements included)")
    ax.set_ylabel("Fréchet distance (classifier features)")
    ax.set_yscale("log")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def ladder_curves(log, path, title):
    """The Ladder network's epochs from its CSV log (keras.callbacks.CSVLogger; an epoch logged twice counts once,
    its last row): each layer's denoising cost, and the error of the clean pass on the labelled training rows and,
    where the log has it, on the held-out images."""
    import csv

    with open(log, newline="") as handle:
        rows = {int(row["epoch"]): row for row in csv.DictReader(handle)}  # the last row of each epoch
    order = sorted(rows)
    epochs = {column: np.array([float(rows[e][column]) if rows[e][column] not in ("", "NA") else np.nan
                                for e in order]) for column in rows[order[0]]}
    x = epochs["epoch"] + 1
    fig, (costs, errors) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    layers = sorted((c for c in epochs if c.startswith("denoise_")), key=lambda c: int(c.split("_")[1]))
    for layer in layers:
        costs.plot(x, epochs[layer], linewidth=1.2, label=f"layer {layer.split('_')[1]}")
    costs.set_yscale("log")
    for ax in (costs, errors):
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    costs.set_xlabel("epoch")
    costs.set_title("denoising cost per layer (0 = input; unweighted)", fontsize=9)
    costs.legend(fontsize=7, ncol=2)
    for column, label in (("accuracy", "labelled training rows (clean pass)"), ("val_accuracy", "held-out images")):
        if column in epochs and np.isfinite(epochs[column]).any():  # CSVLogger writes NA without validation
            errors.plot(x, 100 * (1 - epochs[column]), linewidth=1.2, label=label)
    errors.set_ylim(bottom=0)
    errors.set_xlabel("epoch")
    errors.set_ylabel("error, %")
    errors.set_title("classification error", fontsize=9)
    errors.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def ranked_images(images, rankings, row_labels, path, title, count=8):
    """One row per ranking (indices sorted by ascending score): its `count` lowest-scored images, then its
    `count` highest-scored."""
    rows = [np.concatenate([images[order[:count]], images[order[-count:][::-1]]]) for order in rankings]
    return image_grid(np.concatenate(rows), len(rows), path, title=title, row_labels=[str(r) for r in row_labels])
