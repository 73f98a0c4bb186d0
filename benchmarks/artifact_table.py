"""Prints the table of committed artifacts (docs/artifacts.md) from their cards and the measured behaviour of their
endpoints (benchmarks/results/artifact_behaviour.json): `python -m benchmarks.artifact_table`. `python -m
benchmarks.tables` writes it, with every other results table, into the pages."""

import json
from pathlib import Path

from zoo import flags

ROOT = Path(__file__).resolve().parent.parent
BEHAVIOUR = ROOT / "benchmarks" / "results" / "artifact_behaviour.json"
COLUMNS = (  # (header, metric key, format); "-" where a model has no such metric
    ("test NLL, nats (k)", "test_nll_nats", "{:.2f}"),
    ("test ELBO, nats", "test_elbo_nats", "{:.2f}"),
    ("test BCE, nats", "test_bce_nats", "{:.2f}"),
    ("test squared error", "test_squared_error", "{:.2f}"),
    ("test accuracy", "test_accuracy", "{:.4f}"),
    ("test score AUROC", "test_auroc", "{:.3f}"),
    ("epochs", "epochs", "{}"),
    ("train time, min", "train_seconds", "{:.0f}"),
)


def behaviour_cells(measured):
    """(reconstructions read as their digit, samples: the rarest digit's share or, for a conditional model, the
    lowest share of draws read as the digit asked for), as percentages, "-" where there is no such endpoint or the
    artifact is not of digits (a table's judges measure other things: benchmarks.judges.TABLE_JUDGES)."""
    reconstruct = measured.get("reconstruct", {}) if "agreement" in measured.get("reconstruct", {}) else None
    sample = measured.get("sample") or measured.get("generate")
    if sample is None or not {"asked_digit_share_min", "smallest_digit_share"} & set(sample):
        drawn = "-"
    elif "asked_digit_share_min" in sample:
        drawn = f"{100 * sample['asked_digit_share_min']:.1f} (as asked)"
    else:
        drawn = f"{100 * sample['smallest_digit_share']:.1f}"
    return [f"{100 * reconstruct['agreement']:.1f}" if reconstruct else "-", drawn]


def artifact_rows():
    behaviour = json.loads(BEHAVIOUR.read_text())["artifacts"]
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
        code_size = card.get("code", {}).get("size", card["model_config"].get("latent_dim", "-"))
        cells += behaviour_cells(behaviour.get(card_path.parent.name, {}))
        yield [f"`saved_models/{card_path.parent.name}`", card["model"], str(code_size), *cells,
               f"{card['parameters']:,}", f"{size:.1f}", f"`{card['command']}`"]


def table():
    headers = ["artifact", "model", "code size", *(c[0] for c in COLUMNS), "score threshold",
               "reconstructions read as their digit, %", "rarest digit in 1,000 samples, %", "parameters", "MB",
               "command"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in artifact_rows()]
    return "\n".join(lines)


if __name__ == "__main__":
    flags.parse(flags.NoFlags, prog="python -m benchmarks.artifact_table", description=__doc__)
    print(table())
