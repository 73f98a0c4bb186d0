"""Speed of the VAE's importance-sampled test likelihood: the zoo's estimator against the one it replaced.

    python -m benchmarks.evaluation_speed --data-dir DIR [--model-dir saved_models/vae_mnist] [--samples 500]
        [--images 10000] [--repeats 1]

Both estimate log p(x) with the same k, the same seed and the same draws (zoo.metrics.per_image_log_likelihood's
chunks), on the test images binarized once with the fixed seed. The zoo sums log p(x | z) as
x * logits - softplus(logits) from the decoder's logits (VAE.log_likelihood) and decodes up to 60000 codes per
compiled call; the replaced estimator called TFP's Bernoulli log_prob and decoded 20000 per call. Timed passes alternate. Writes benchmarks/results/evaluation_speed.json with the seconds, the
speed-up, both mean NLLs and their largest per-image difference.
"""

import dataclasses
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks import write_results
from zoo import cli, flags
from zoo.flags import flag

RESULTS = Path(__file__).parent / "results" / "evaluation_speed.json"


class TFPLogProb:
    """The VAE's estimator as it was: log p(x | z) by TFP's Bernoulli log_prob, one compiled call per chunk of
    draws (the same draws: `per_image_log_likelihood` with `decoded_per_call` of one chunk)."""

    takes_labels = False

    def __init__(self, model):
        self.model = model
        self.posterior, self.draw_codes = model.posterior, model.draw_codes

    def terms_at(self, q, codes, images, condition=None):
        return {**self.model.terms_at(q, codes, images, condition),
                "log_px_z": self.model.likelihood(codes, condition).log_prob(images)}


@dataclasses.dataclass
class EvaluationSpeedConfig:
    """Flags of `python -m benchmarks.evaluation_speed`."""

    data_dir: str = flag(None, "directory of the MNIST IDX files", flags.existing_dir)
    model_dir: str = flag("saved_models/vae_mnist", "artifact directory holding model.keras (a VAE)",
                          flags.artifact_dir(models=("vae", "two_layer_vae"), files=("model.keras",)))
    samples: int = flag(500, "importance samples k", flags.count(1, 100_000))
    images: int = flag(10_000, "test images to evaluate", flags.count(1, 10_000))
    repeats: int = flag(1, "timed passes of each (alternating)", flags.count(1, 20))
    out: str = flag(str(RESULTS), "results JSON", flags.file_path)


def main(argv=None):
    settings = flags.parse(EvaluationSpeedConfig, argv, prog="python -m benchmarks.evaluation_speed",
                           description=__doc__)
    import zoo  # imports TensorFlow: only once the flags are known to be good
    from zoo import data, metrics, speed

    model = zoo.load(Path(settings.model_dir) / "model.keras")
    images = data.mnist(100, "dynamic", settings.data_dir).test_images[:settings.images]
    estimators = {"zoo (fused log p(x|z), 60000 decoded per call)": model, "replaced (TFP Bernoulli log_prob, 20000 per call)": TFPLogProb(model)}
    seconds = {name: [] for name in estimators}
    estimates = {}
    for _ in range(settings.repeats):
        for name, estimator in estimators.items():
            start = time.perf_counter()
            old_way = isinstance(estimator, TFPLogProb)
            estimates[name] = metrics.per_image_log_likelihood(
                estimator, images, settings.samples, progress=False, decoded_per_call=20000 if old_way else 60000)
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
    write_results(settings.out, results)
    print(f"speed-up {results['speedup']}x; NLL {results['nll_nats'][new]} against {results['nll_nats'][old]}; "
          f"{results['cpu']}; wrote {settings.out}")


if __name__ == "__main__":
    cli.run_main(main)
