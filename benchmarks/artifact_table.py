"""Prints the README's table of committed artifacts from their cards: `python -m benchmarks.artifact_table`."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = (  # (header, metric key, format); "-" where a model has no such metric
    ("test NLL, nats (k)", "test_nll_nats", "{:.2f}"),
    ("test ELBO, nats", "test_elbo_nats", "{:.2f}"),
    ("test BCE, nats", "test_bce_nats", "{:.2f}"),
    ("test squared error", "test_squared_error", "{:.2f}"),
    ("test accuracy", "test_accuracy", "{:.4f}"),
    ("epochs", "epochs", "{}"),
    ("train time, min", "train_seconds", "{:.0f}"),
)


def artifact_rows():
    for card_path in sorted((ROOT / "saved_models").glob("*/card.json")):
        card = json.loads(card_path.read_text())
        metrics = {name: entry["value"] for name, entry in card["metrics"].items()}
        cells = []
        for header, key, fmt in COLUMNS:
            value = metrics.get(key)
            if value is None:
                cells.append("-")
            elif key == "train_seconds":
                cells.append(fmt.format(value / 60))
            elif key == "test_nll_nats":
                cells.append(f"{fmt.format(value)} ({metrics['nll_importance_samples']})")
            else:
                cells.append(fmt.format(value))
        anomaly = card.get("anomaly")
        cells.append(f"{anomaly['threshold']:.1f}" if anomaly else "-")
        size = sum(f.stat().st_size for f in card_path.parent.rglob("*") if f.is_file()) / 1e6
        yield [f"`saved_models/{card_path.parent.name}`", card["model"], str(card["model_config"].get("latent_dim", "-")), *cells,
               f"{card['parameters']:,}", f"{size:.1f}", f"`{card['command']}`"]


def table():
    headers = ["artifact", "model", "code size", *(c[0] for c in COLUMNS), "score threshold", "parameters", "MB",
               "command"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in artifact_rows()]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
