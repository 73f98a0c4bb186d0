"""Is the data pipeline the bottleneck? Images per second of the input pipeline alone against the training step, in
one process, on the same machine.

    python -m benchmarks.data_pipeline --data-dir DIR [--before OLD_CHECKOUT] [--folder-images 6000] [--repeats 5]

1. An image folder: --folder-images MNIST training images written as PNG files in class subfolders (made once in
   a temporary directory), read with `--data images:DIR` (zoo.sources: decoded once, held in memory) and then
   batched by the same pipeline as MNIST (zoo.data.pipelines: cache, shuffle, per-batch binarization, prefetch). Timed:
   reading the folder (images/s, once per repeat), an epoch of the pipeline alone, and training steps of the default
   VAE on the pipeline's batches.
2. MNIST through the data layer against the code of another checkout (`--before`, e.g. a worktree of the commit before
   the data layer): an epoch of training batches from each, alternating in this process, and whether the batches are
   the same bit for bit.

Each timing is repeated --repeats times, alternating; the medians and the spread (min, max) go to
benchmarks/results/data_pipeline.json with the CPU (zoo.speed.cpu_model()).
"""

import dataclasses
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import write_results
from zoo import cli, flags
from zoo.flags import flag

RESULTS = Path(__file__).parent / "results" / "data_pipeline.json"
PROG = "python -m benchmarks.data_pipeline"


@dataclasses.dataclass
class DataPipelineConfig:
    """Flags of `python -m benchmarks.data_pipeline`."""

    data_dir: str = flag(None, "directory of the MNIST IDX files", flags.existing_dir)
    before: str = flag(None, "a checkout of the zoo whose zoo/data.py MNIST pipeline is timed against this one's",
                       flags.optional(flags.existing_dir))
    folder_images: int = flag(6000, "images written to the image folder", flags.count(100, 60_000))
    batch_size: int = flag(100, "images per batch", flags.BATCH_SIZE)
    train_steps: int = flag(100, "training steps timed per repeat", flags.count(10, 100_000))
    repeats: int = flag(5, "timed repeats of each (alternating)", flags.count(1, 100))
    out: str = flag(str(RESULTS), "results JSON", flags.file_path)


def write_folder(images, labels, directory):
    """Writes `images` (uint8 [n, 28, 28]) as PNG files into class subfolders of `directory`."""
    from PIL import Image

    for index, (image, label) in enumerate(zip(images, labels)):
        folder = Path(directory) / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{index:05d}.png")


def epoch_seconds(dataset, steps):
    """Seconds to draw `steps` batches from `dataset` (its first pass: what the pipeline costs per epoch)."""
    start = time.perf_counter()
    for _ in dataset.take(steps):
        pass
    return time.perf_counter() - start


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "all": values}


def load_before(checkout):
    """The zoo.data module of another checkout, imported under another name (it imports this checkout's zoo.files
    and zoo.config, which it shares)."""
    spec = importlib.util.spec_from_file_location("before_data", Path(checkout) / "zoo" / "data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(settings, argv):
    import keras
    import numpy as np
    import tensorflow as tf

    from zoo import data, sources, speed, training
    from recipes.vae_mnist import VAEMnistConfig

    arrays = data.load_mnist_arrays(settings.data_dir)
    images, labels = arrays["train"][0][:settings.folder_images], arrays["train"][1][:settings.folder_images]
    results = {"cpu": speed.cpu_model(), "command": flags.command_line(PROG, argv)}
    with tempfile.TemporaryDirectory() as folder:
        write_folder(images, labels, folder)
        config = VAEMnistConfig(data=f"images:{folder}", batch_size=settings.batch_size, binarization="dynamic",
                                xla="off", precision="float32")
        read, pipeline, steps = [], [], []
        model = None
        for _ in range(settings.repeats):
            start = time.perf_counter()
            source = sources.load(config.data)
            read.append(len(source.x_train) + len(source.x_test))
            read[-1] /= time.perf_counter() - start
            dataset = data.pipelines(source, settings.batch_size, "dynamic")
            batches = dataset.train_size // settings.batch_size
            pipeline.append(batches * settings.batch_size / epoch_seconds(dataset.train, batches))
            if model is None:
                model = training.build_model(config, tf.distribute.get_strategy(), batches, False,
                                             data_args=training.data_arguments(config, dataset))
                model.fit(dataset.train.repeat(), steps_per_epoch=10, epochs=1, verbose=0)  # compiles
            start = time.perf_counter()
            model.fit(dataset.train.repeat(), steps_per_epoch=settings.train_steps, epochs=1, verbose=0)
            steps.append(settings.train_steps * settings.batch_size / (time.perf_counter() - start))
        results["image_folder"] = {
            "images": settings.folder_images, "image_shape": list(dataset.input_shape),
            "read_images_per_s": summary(read), "pipeline_images_per_s": summary(pipeline),
            "training_images_per_s": summary(steps),
            "pipeline_over_training": statistics.median(pipeline) / statistics.median(steps)}
    keras.backend.clear_session()
    if settings.before:
        before = load_before(settings.before)
        now, old = [], []
        for _ in range(settings.repeats):
            for module, times in ((data, now), (before, old)):
                dataset = module.mnist(settings.batch_size, "dynamic", settings.data_dir)
                batches = dataset.train_size // settings.batch_size
                times.append(batches * settings.batch_size / epoch_seconds(dataset.train, batches))
        same = all(np.array_equal(a[0].numpy(), b[0].numpy()) and np.array_equal(a[1].numpy(), b[1].numpy())
                   for a, b in zip(data.mnist(100, "dynamic", settings.data_dir, seed=5).train.take(50),
                                   before.mnist(100, "dynamic", settings.data_dir, seed=5).train.take(50)))
        results["mnist_pipeline"] = {"before": str(Path(settings.before).resolve()), "now_images_per_s": summary(now),
                                     "before_images_per_s": summary(old), "same_batches_bit_for_bit_50": same}
    write_results(settings.out, results)
    print(results)
    return results


def main(argv=None):
    settings = flags.parse(DataPipelineConfig, argv, prog=PROG, description=__doc__)
    return run(settings, argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    cli.run_main(main)
