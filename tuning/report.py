"""What a person reads after a search: the trial table (CSV and markdown), a plot, and a summary."""

import csv
import math
from pathlib import Path

from zoo.files import MapOf, Number, Record, fault, present, read_json

def trial_rows(search, oracle):
    """One dict per trial of the oracle, in trial order, joined with the result.json its run wrote."""
    rows = []
    for trial_id in sorted(oracle.trials, key=int):
        trial = oracle.trials[trial_id]
        result = trial_result(Path(search.out) / "trials" / trial_id / "result.json", trial_id)
        hyperparameters = {p.name: trial.hyperparameters.values.get(p.name) for p in search.hyperparameters}
        status = trial.status if isinstance(trial.status, str) else trial.status.value
        score = trial.score if status == "COMPLETED" else None
        message = (trial.message or "").strip().splitlines()
        rows.append({"trial": trial_id, "status": status, "tuner": result.get("tuner", ""),
                     "message": message[-1] if message and status != "COMPLETED" else "",
                     "epochs": result.get("epochs", trial.hyperparameters.values.get("tuner/epochs", "")),
                     "continued_from": result.get("continued_from") or "", "seconds": result.get("seconds", ""),
                     "hyperparameters": hyperparameters, "objective": score})
    return rows


# What a trial's result.json (tuning.trials.train_trial) must hold to be shown.
RESULT_SCHEMA = Record({"trial": str, "tuner": str, "hyperparameters": dict, "epochs": Number(1, integer=True),
                        "continued_from": (str, type(None)), "seconds": Number(0), "metrics": MapOf(Number())})


def trial_result(path, trial_id):
    """The result.json of trial `trial_id` ({} if there is none); one that is not a result of that trial (damaged,
    of the wrong shape, of another trial) is left out of the table with a line saying why."""
    if not present(path):
        return {}
    try:
        result = read_json(path)
        why = fault(result, RESULT_SCHEMA) or (None if result["trial"] == trial_id else f"it is trial {result['trial']}'s")
    except ValueError as error:
        why = str(error)
    if why:
        print(f"{path}: not the result of trial {trial_id} ({why}); the table shows what the oracle holds of it")
        return {}
    return result


def best_row(search, completed):
    """The completed trial with the best objective."""
    pick = min if search.direction == "min" else max
    return pick(completed, key=lambda row: row["objective"])


def _format(value):
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.1f}"
    return "" if value is None else str(value)


def _table(search, rows):
    names = [p.name for p in search.hyperparameters]
    header = ["trial", *names, search.objective, "epochs", "seconds", "status", "tuner", "continued_from", "message"]
    body = [[row["trial"], *[row["hyperparameters"][n] for n in names], row["objective"], row["epochs"],
             row["seconds"], row["status"], row["tuner"], row["continued_from"], row["message"]] for row in rows]
    return header, body


def write_results(search, rows, defaults):
    """Writes trials.csv, trials.md and objective.png (marking the recipe's `defaults`) into the search
    directory; returns their paths."""
    out = Path(search.out)
    header, body = _table(search, rows)
    with open(out / "trials.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(body)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_format(v) for v in line) + " |" for line in body]
    (out / "trials.md").write_text("\n".join(lines) + "\n")
    return [out / "trials.csv", out / "trials.md", plot(search, rows, defaults, out / "objective.png")]


def plot(search, rows, defaults, path):
    """The objective of every completed trial against the space's first hyperparameter, coloured by the
    second hyperparameter (or by the trial's epochs), with the best trial and the recipe default marked."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    params = search.hyperparameters
    axis, colour = params[0], (params[1] if len(params) > 1 else None)
    done = [row for row in rows if row["status"] == "COMPLETED" and row["objective"] is not None]
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    if done:
        x = [row["hyperparameters"][axis.name] for row in done]
        y = [row["objective"] for row in done]
        c = [row["hyperparameters"][colour.name] if colour else row["epochs"] for row in done]
        log_colour = colour is not None and colour.sampling == "log"
        points = ax.scatter(x, y, c=c, cmap="viridis", norm=LogNorm() if log_colour else None, s=36,
                            edgecolors="black", linewidths=0.4)
        fig.colorbar(points, ax=ax, label=colour.name if colour else "epochs trained")
        best = best_row(search, done)
        ax.scatter([best["hyperparameters"][axis.name]], [best["objective"]], marker="*", s=300, c="red",
                   edgecolors="black", zorder=3, label=f"best (trial {best['trial']})")
    default = defaults[axis.name]
    if axis.low <= default <= axis.high:
        ax.axvline(default, color="grey", linestyle="--", linewidth=1, label=f"recipe default {axis.name}={default}")
    if axis.sampling == "log":
        ax.set_xscale("log")
        ax.set_xticks(_log_ticks(axis), [f"{t:g}" for t in _log_ticks(axis)])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel(axis.name)
    ax.set_ylabel(f"{search.objective} ({search.direction}imized)")
    ax.set_title(f"{search.tuner} search: {search.model}, {len(done)} completed trials", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _log_ticks(param):
    """Readable ticks of a log axis: powers of two for integers, 1-2-5 steps for reals."""
    if isinstance(param.low, int):
        candidates = [2 ** k for k in range(0, 31)]
    else:
        candidates = [m * 10.0 ** e for e in range(-6, 7) for m in (1, 2, 5)]
    return [t for t in candidates if param.low <= t <= param.high]


def write_summary(search, command, rows, best, runs):
    """Writes summary.md: the search, its best trial, and the retrained best and default configurations."""
    completed = sum(row["status"] == "COMPLETED" for row in rows)
    seconds = sum(row["seconds"] for row in rows if isinstance(row["seconds"], (int, float)))
    lines = [f"# {search.tuner} search over {search.space} for {search.model}", "",
             f"Command: `{command}`", "",
             f"- objective: {search.objective} ({search.direction}imized) on {search.validation_size} held-out "
             "training images",
             f"- trials: {len(rows)}, completed: {completed}; trial training time {seconds / 60:.1f} min in all",
             f"- best: trial {best['trial']}, {search.objective} = {best['objective']:.4f}, {best['hyperparameters']}",
             "- table: trials.md / trials.csv; plot: objective.png", ""]
    if runs:
        lines += [f"Retrained for {search.final_epochs} epochs with the recipe's learning-rate schedule, "
                  "evaluated on the 10,000 test images:", ""]
        names = list(runs)
        lines += ["| metric | " + " | ".join(f"{n} {runs[n]['hyperparameters']}" for n in names) + " |",
                  "|---|" + "---|" * len(names)]
        keys = [k for k, v in runs["best"]["metrics"].items() if isinstance(v, (int, float)) and math.isfinite(v)]
        for key in keys:
            lines.append(f"| {key} | " + " | ".join(_format(runs[n]["metrics"].get(key)) for n in names) + " |")
        lines.append("")
        lines.append(f"The best configuration is exported to {search.export_dir}.")
    path = Path(search.out) / "summary.md"
    path.write_text("\n".join(lines) + "\n")
    return path
