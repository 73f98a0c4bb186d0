"""Denoising and inpainting of MNIST test digits: `python -m recipes.restore_mnist --help`.

Corrupts grayscale test digits (masking noise q = 0.25 and 0.5, Gaussian noise sigma = 0.3 and 0.5, a
missing 12x12 block, a missing bottom half) and restores them with exported artifacts, through
their `reconstruct` endpoints alone:
  denoising_ae  the denoising autoencoder's reconstruction of the corrupted digit (in the missing region
                only, where the mask is known)
  vae           for the missing block and half (masks the user knows), iterative inpainting: known
                pixels are kept and unknown ones filled from the VAE's reconstruction until they settle;
                for noise, the VAE's reconstruction
  baseline      the mean training image's pixels in the missing region; a 3x3 median filter for noise
Reports PSNR and SSIM (corrupted vs clean, restored vs clean), averaged over the images, in
results.json and results.md, and draws a panel per corruption (clean, corrupted, each restorer).
Other images (--data) are restored by artifacts trained on them: their sides must hold the missing block.
"""

import dataclasses
import json
import re

from zoo import cli, config, flags
from zoo.flags import flag

PROG = "python -m recipes.restore_mnist"
OUT_DIR = f"the output dir of {PROG}"
RESTORES = flags.artifact_dir({"restore"})  # the check of a denoising artifact's flag


@dataclasses.dataclass
class RestoreMnistConfig(config.DataFlags):
    """Flags of `python -m recipes.restore_mnist`: MNIST by default, or other images (--data)."""

    DATA_KINDS = ("images",)  # pixels to corrupt and restore, measured by PSNR and SSIM

    denoiser: str = flag("saved_models/denoising_ae_mnist", "artifact of the denoising autoencoder trained on masking "
                                                             "noise", RESTORES)
    gaussian_denoiser: str = flag("saved_models/denoising_ae_gaussian_mnist", "artifact of the denoising autoencoder "
                                  "trained on Gaussian noise", RESTORES)
    blind_denoiser: str = flag("saved_models/denoising_ae_blind_mnist", "artifact of the denoising autoencoder trained "
                               "on a mix of corruptions (`--corruption mixed`), told none", RESTORES)
    vae: str = flag("saved_models/vae_mnist", "artifact of the VAE", flags.artifact_dir({"reconstruct"}))
    images: int = flag(10000, "test images to corrupt and restore (the first N)", flags.count(1, 10_000))
    iterations: int = flag(50, "most iterations of the VAE's inpainting", flags.count(1, 10_000))
    seed: int = flag(0, "seed of the corruptions (and of the test part held out of data that has none: the "
                        "artifacts' training seed)", flags.SEED)
    out_dir: str = flag("runs/restore_mnist", "where results.json, results.md and the panels go",
                         flags.owned_dir(OUT_DIR))


# restorer column -> (the flag naming its denoising artifact, whether it keeps the known pixels of a known mask).
# The blind one is told nothing: neither the corruption nor the mask.
DENOISERS = {"denoising_ae": ("denoiser", True), "denoising_ae_gaussian": ("gaussian_denoiser", True),
             "denoising_ae_blind": ("blind_denoiser", False)}


# restorer column -> (the flag naming its artifact, the endpoint it restores with)
ARTIFACTS = {**{name: (flag_name, "restore") for name, (flag_name, _) in DENOISERS.items()},
             "vae": ("vae", "reconstruct")}


def restorers(settings, mean_image):
    """({name: restore(corrupted, known)} for the artifacts in `settings` and the baseline, the loaded artifacts).
    Each artifact must take images of the mean image's shape."""
    import zoo
    from zoo import restore
    from zoo.batching import apply_in_batches

    artifacts = {}
    for name, (flag_name, endpoint) in ARTIFACTS.items():
        path = getattr(settings, flag_name)
        artifacts[name] = zoo.load_artifact(path, {endpoint})
        zoo.require_input_shape(f"{flags.flag_name(flag_name)} {path}",
                                zoo.endpoint_input_shape(artifacts[name], endpoint), settings.data, mean_image.shape)

    def denoising(name):
        def restore_with(corrupted, known):
            restored = apply_in_batches(lambda batch: artifacts[name].restore(batch)["restored"], corrupted, 1000)
            if known is None or not DENOISERS[name][1]:
                return restored
            return known * corrupted + (1 - known) * restored  # keep the known pixels
        return restore_with

    def vae_reconstruct(images):
        return apply_in_batches(lambda batch: artifacts["vae"].reconstruct(batch)["probs"], images, 1000)

    def vae(corrupted, known):
        if known is None:
            return vae_reconstruct(corrupted)
        return restore.inpaint(vae_reconstruct, corrupted, known, mean_image, settings.iterations)[0]

    def baseline(corrupted, known):
        return restore.median_filter(corrupted) if known is None else known * corrupted + (1 - known) * mean_image

    # The caller keeps `artifacts`: a loaded SavedModel's functions need the object alive.
    return {**{name: denoising(name) for name in DENOISERS}, "vae": vae, "baseline": baseline}, artifacts


def best_restorer(row, names):
    """The zoo restorer with the highest PSNR on a table row, and whether it beats both the corrupted input and the
    baseline in PSNR and in SSIM."""
    best = max(names, key=lambda name: row[name]["psnr_db"])
    wins = all(row[best][measure] > row[other][measure] for other in ("corrupted", "baseline")
               for measure in ("psnr_db", "ssim"))
    return best, wins


def main(argv=None):
    settings = flags.parse(RestoreMnistConfig, argv, prog=PROG, description=__doc__)
    import numpy as np

    from zoo import plots, restore, sources
    from zoo.corruptions import BLOCK_SIZE
    from zoo.data import unit_images
    from zoo.errors import DataError
    from zoo.files import owned_dir

    arrays = sources.load_flags(settings, settings.seed)
    if min(arrays.x_test.shape[1:3]) < BLOCK_SIZE:
        raise DataError(f"--data {settings.data} holds images of {arrays.x_test.shape[1]}x{arrays.x_test.shape[2]}; "
                        f"{PROG} takes images whose sides hold the missing {BLOCK_SIZE}x{BLOCK_SIZE} block "
                        f"(--image-size {BLOCK_SIZE} {BLOCK_SIZE} or more)")
    clean = unit_images(arrays.x_test[:settings.images])
    mean_image = unit_images(arrays.x_train).mean(axis=0).astype(np.float32)
    methods, _artifacts = restorers(settings, mean_image)
    names = list(methods)
    out = owned_dir(settings.out_dir, OUT_DIR)
    results = {}
    for index, (corruption, corrupt) in enumerate(restore.CORRUPTIONS.items()):
        corrupted, known = corrupt(clean, np.random.default_rng([settings.seed, index]))
        outputs = {"corrupted": corrupted, **{name: methods[name](corrupted, known) for name in names}}
        results[corruption] = {name: {"psnr_db": float(np.mean(restore.psnr(images, clean))),
                                      "ssim": float(np.mean(restore.ssim(images, clean)))}
                               for name, images in outputs.items()}
        print(f"{corruption}: " + ", ".join(f"{n} {m['psnr_db']:.2f} dB / {m['ssim']:.3f}"
                                            for n, m in results[corruption].items()), flush=True)
        shown = {"clean": clean[:10], **{name: images[:10] for name, images in outputs.items()}}
        slug = re.sub(r"[^a-z0-9]+", "_", corruption.lower()).strip("_")
        plots.image_grid(np.concatenate(list(shown.values())), len(shown), out / f"restore_{slug}.png",
                         title=f"{corruption}: rows {', '.join(shown)}", row_labels=list(shown))
    (out / "results.json").write_text(json.dumps({"command": flags.command_line(PROG, argv),
                                                  "settings": flags.settings_dict(settings), "results": results},
                                                 indent=1))
    columns = ["corrupted", *names]
    zoo_restorers = [name for name in names if name != "baseline"]
    lines = ["| corruption | " + " | ".join(columns) + " | best zoo restorer |", "|---|" + "---|" * (len(columns) + 1)]
    for corruption, row in results.items():
        best, wins = best_restorer(row, zoo_restorers)
        verdict = f"{best}: {'beats' if wins else 'does not beat'} the corrupted input and the baseline"
        lines.append(f"| {corruption} | " + " | ".join(f"{row[c]['psnr_db']:.2f} / {row[c]['ssim']:.3f}"
                                                       for c in columns) + f" | {verdict} |")
    lines += ["", "PSNR (dB) / SSIM, mean over the images; \"beats\": higher in both PSNR and SSIM than the corrupted "
              "input and the baseline (the median filter for noise, the mean training image in the unknown pixels "
              "for a known mask)."]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    cli.run_main(main)
