"""The publishing pipeline: what a training recipe does after the training core has fit its model --
evaluate on the test split, draw the figures, compute the anomaly threshold, write the card, export."""

import json
import sys
from pathlib import Path

import keras

from zoo import export, flags, plots, training
from zoo.files import atomic_write_text


def evaluate(model, dataset, checkpoint, config):
    """Test metrics: the tracked losses in nats per image, the model's own metrics, time and throughput."""
    tracked = model.evaluate(dataset.test, return_dict=True, verbose=0)
    metrics = {model.test_metric_name(name): float(value) for name, value in tracked.items()}
    metrics.update(model.evaluation_metrics(dataset.test_images, dataset.test_labels, tracked, config.eval_samples,
                                            config.batch_size))
    metrics.update(
        epochs=checkpoint.state["epochs_done"],
        train_seconds=round(checkpoint.state["train_seconds"], 1),
        throughput_images_per_s=round(checkpoint.throughput(), 1),
        parameters=int(model.count_params()),
    )
    return metrics


def held_out_normal_images(dataset, config):
    """(images, description) of held-out data of the training distribution: the validation split if there
    is one, else the test split; only the images of `config.train_digits` if those are set."""
    import numpy as np

    if dataset.validation is not None:
        images = np.concatenate([batch[0].numpy() for batch in dataset.validation])
        return images, f"the {len(images)} validation images held out from the training split"
    if config.train_digits:
        normal = np.isin(dataset.test_labels, config.train_digits)
        return dataset.test_images[normal], f"the test images of digits {list(config.train_digits)}"
    return dataset.test_images, "the MNIST test split"


def publish(config, command=None, card_extra=None):
    """Trains, evaluates, writes metrics.json and figures into the run dir, and exports: the whole recipe.

    `card_extra` adds entries to the artifact's card (e.g. the search a tuned configuration came from).
    """
    model, dataset, checkpoint = training.train(config)
    if keras.mixed_precision.global_policy().name != "float32":
        # Reported numbers and artifacts are float32, whatever precision trained the weights.
        keras.mixed_precision.set_global_policy("float32")
        model = export.float32_copy(model)
        model.compile(jit_compile=False)
    run_dir = Path(config.run_dir)
    metrics_path = run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    # A cached evaluation is reused if it saw the same epochs and, for likelihoods, the same k.
    if (metrics.get("epochs") != checkpoint.state["epochs_done"]
            or metrics.get("nll_importance_samples", config.eval_samples) != config.eval_samples):
        print("evaluating on the test set ...")
        metrics = evaluate(model, dataset, checkpoint, config)
        atomic_write_text(metrics_path, json.dumps(metrics, indent=1))
    else:
        print(f"reusing the evaluation in {metrics_path}")
    for name, value in metrics.items():
        print(f"  {name}: {value:.3f}" if isinstance(value, float) else f"  {name}: {value}")
    figures = plots.draw_all(model, dataset, run_dir / "figures", seed=config.seed)
    print(f"wrote {run_dir / 'metrics.json'} and {len(figures)} figures in {run_dir / 'figures'}")
    if config.export_dir:
        card = export.card(model, config, metrics, dataset.source, command or flags.command_line(sys.argv[0]))
        card.update(card_extra or {})
        if hasattr(model, "anomaly_score") and not getattr(model, "conditional", False):
            from zoo import anomaly

            card["anomaly"] = anomaly.card_entry(model, *held_out_normal_images(dataset, config))
        export.export(model, config.export_dir, card, figures)
        print(f"exported {config.export_dir}")
    return metrics
