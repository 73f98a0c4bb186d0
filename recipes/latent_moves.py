"""Moving in the latent space of an exported artifact: `python -m recipes.latent_moves --artifact DIR`.

Works on any SavedModel of this zoo through its endpoints alone (plain TensorFlow): linear and
spherical interpolation (slerp, White, 2016) side by side between the codes of test digits (or
between random codes for a GAN, which has no encoder), and attribute vectors (the mean code of a
digit minus the mean code of the others) added to other digits' codes. Writes PNGs to --out-dir.
"""

import dataclasses
from pathlib import Path

from zoo import cli, config, flags
from zoo.errors import ZooError
from zoo.flags import flag

PROG = "python -m recipes.latent_moves"
OUT_DIR = f"the output dir of {PROG}"
ENDPOINTS = ({"encode", "decode"}, {"generate"})  # what an artifact needs: an encoder and a decoder, or a generator


@dataclasses.dataclass
class LatentMovesConfig:
    artifact: str = flag("saved_models/vae_mnist", "SavedModel directory of a zoo artifact (with encode and decode "
                                                   "endpoints, or generate)", flags.artifact_dir(*ENDPOINTS))
    data_dir: str = flag(None, f"directory of the MNIST IDX files (default: ${config.DATA_DIR_ENV})", flags.existing_dir)
    out_dir: str = flag("runs/latent_moves", "where to write the PNGs", flags.owned_dir(OUT_DIR))
    seed: int = flag(0, "seed of the digits and codes picked", flags.SEED)


def main(argv=None):
    settings = flags.parse(LatentMovesConfig, argv, prog=PROG, description=__doc__)
    import numpy as np
    import tensorflow as tf

    import zoo
    from zoo import data, plots
    from zoo.files import owned_dir

    artifact = zoo.load_artifact(settings.artifact, *ENDPOINTS)
    out_dir = owned_dir(settings.out_dir, OUT_DIR)
    name = Path(settings.artifact).name
    rng = np.random.default_rng(settings.seed)
    if hasattr(artifact, "generate") and not hasattr(artifact, "encode"):
        decode = lambda codes: artifact.generate(tf.constant(codes))["images"].numpy()  # noqa: E731
        size = artifact.generate.concrete_functions[0].structured_input_signature[0][0].shape[-1]
        pairs = [(rng.normal(size=size), rng.normal(size=size)) for _ in range(4)]
        written = [plots.interpolation_comparison(decode, pairs, out_dir / f"{name}_interpolation.png",
                                                  title="between random codes: linear (upper), slerp (lower)")]
        print(f"{name} has no encoder: attribute vectors need one, so only interpolations are drawn")
    else:
        if not hasattr(artifact, "encode") or "digits" in str(artifact.encode.concrete_functions[0].structured_input_signature):
            raise ZooError(f"{settings.artifact} needs unconditional encode/decode endpoints")
        images, labels = data.mnist_grayscale(settings.data_dir)["test"]
        encode = lambda x: artifact.encode(tf.constant(x))["code"].numpy()  # noqa: E731
        decode = lambda codes: artifact.decode(tf.constant(codes))["probs"].numpy()  # noqa: E731
        picked = [rng.choice(np.flatnonzero(labels == d), 1)[0] for d in rng.permutation(10)[:8]]
        codes = encode(images[picked])
        pairs = [(codes[i], codes[i + 1]) for i in range(0, 8, 2)]
        written = [plots.interpolation_comparison(decode, pairs, out_dir / f"{name}_interpolation.png"),
                   plots.attribute_vectors(encode, decode, images, labels, out_dir / f"{name}_attributes.png",
                                           seed=settings.seed)]
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    cli.run_main(main)
