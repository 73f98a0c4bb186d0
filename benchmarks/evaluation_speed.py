"""Speed of the VAE's importance-sampled test likelihood: the zoo's estimator against the one it replaced.

    python -m benchmarks.evaluation_speed --data-dir DIR [--model-dir saved_models/vae_mnist] [--samples 500]
        [--images 10000] [--repeats 1]

Both estimate log p(x) with the same k, the same seed and the same draws (zoo.metrics.per_image_log_likelihood's
chunks), on the test images binarized once with the fixed seed. They differ only in log p(x | z): the zoo sums
x * logits - softplus(logits) from the decoder's logits (VAE.log_likelihood), the replaced estimator called TFP's
Bernoulli log_prob. Timed passes alternate. Writes benchmarks/results/evaluation_speed.json with the seconds, the
speed-up, both mean NLLs and their largest per-image difference.
"""

import dataclasses
import json
import statistics
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

import zoo
from zoo import cli, data, flags, metrics, speed
from zoo.flags import flag

RESULTS = Path(__file__).parent / "results" / "evaluation_speed.json"


class TFPLogProb:
    """A VAE whose log p(x | z) is TFP's Bernoulli log_prob (the estimator before VAE.log_likelihood)."""

    takes_labels = False

    def __init__(self, model):
        self.model = model

    def importance_terms(self, images, num_samples, seed, condition=None):
        """VAE.importance_terms as it was: the same draws, log p(x | z) by TFP."""
        q = self.model.posterior(images, condition)
        eps = tf.random.stateless_normal(tf.concat([[num_samples], tf.shape(q.mean())], 0), seed=seed)
        codes = q.mean() + q.stddev() * eps
        return {"log_px_z": self.model.likelihood(codes, condition).log_prob(images),
                "log_pz": self.model.prior().log_prob(codes), "log_qz": q.log_prob(codes), "posterior": q}


@dataclasses.dataclass
class EvaluationSpeedConfig:
    """Flags of `python -m benchmarks.evaluation_speed`."""

    data_dir: str = flag(None, "directory of the MNIST IDX files", flags.existing_dir)
    model_dir: str = flag("saved_models/vae_mnist", "artifact directory holding model.keras (a VAE)",
                          flags.existing_dir)
    samples: int = flag(500, "importance samples k", flags.count(1, 100_000))
    images: int = flag(10_000, "test images to evaluate", flags.count(1, 10_000))
    repeats: int = flag(1, "timed passes of each (alternating)", flags.count(1, 20))
    out: str = flag(str(RESULTS), "results JSON")


def main(argv=None):
    settings = flags.parse(EvaluationSpeedConfig, argv, prog="python -m benchmarks.evaluation_speed",
                           description=__doc__)
    model = zoo.load(Path(settings.model_dir) / "model.keras")
    images = data.mnist(100, "dynamic", settings.data_dir).test_images[:settings.images]
    estimators = {"zoo (fused log p(x|z))": model, "replaced (TFP Bernoulli log_prob)": TFPLogProb(model)}
    seconds = {name: [] for name in estimators}
    estimates = {}
    for _ in range(settings.repeats):
        for name, estimator in estimators.items():
            start = time.perf_counter()
            estimates[name] = metrics.per_image_log_likelihood(estimator, images, settings.samples, progress=False)
            seconds[name].append(time.perf_counter() - start)
            print(f"{name}: {seconds[name][-1]:.1f} s, NLL {-estimates[name].mean():.3f} nats", flush=True)
    (new, old) = estimators
    median = {name: statistics.median(values) for name, values in seconds.items()}
    results = {
        "cpu": speed.cpu_model(), "command": flags.command_line("python -m benchmarks.evaluation_speed", argv),
        "model": settings.model_dir, "samples": settings.samples, "images": settings.images,
        "seconds": {name: [round(s, 2) for s in values] for name, values in seconds.items()},
        "speedup": round(median[old] / median[new], 3),
        "nll_nats": {name: round(-float(np.mean(values)), 4) for name, values in estimates.items()},
        "largest_per_image_difference_nats": float(np.max(np.abs(estimates[new] - estimates[old]))),
    }
    Path(settings.out).parent.mkdir(parents=True, exist_ok=True)
    Path(settings.out).write_text(json.dumps(results, indent=1) + "\n")
    print(f"speed-up {results['speedup']}x; NLL {results['nll_nats'][new]} against {results['nll_nats'][old]}; "
          f"{results['cpu']}; wrote {settings.out}")


if __name__ == "__main__":
    cli.run_main(main)
