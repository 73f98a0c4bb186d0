"""Moving in the latent space of an exported artifact: `python -m recipes.latent_moves --artifact DIR`.

Works on any SavedModel of this zoo through its endpoints alone (plain TensorFlow): linear and
spherical interpolation (slerp, White, 2016) side by side between the codes of test digits (or
between random codes for a GAN, which has no encoder), and attribute vectors (the mean code of a
digit minus the mean code of the others) added to other digits' codes. Writes PNGs to --out-dir. With --data, the
test images and classes are those of other labelled images, which the artifact must take (one trained on them).
"""

import dataclasses
from pathlib import Path

from zoo import cli, config, flags
from zoo.errors import ZooError
from zoo.flags import flag

PROG = "python -m recipes.latent_moves"
OUT_DIR = f"the output dir of {PROG}"
ENDPOINTS = ({"encode", "decode"}, {"generate"})  # what an artifact needs: an encoder and a decoder, or a generator
PICKED = 8  # test images picked, of as many classes as the data has up to this, for the interpolations
# The classes whose attribute vectors are drawn (MNIST's digits whose vectors change a digit most visibly), those
# of them that the data has
ATTRIBUTE_CLASSES = (0, 1, 6, 8)


@dataclasses.dataclass
class LatentMovesConfig(config.DataFlags):
    """Flags of `python -m recipes.latent_moves`: MNIST's test digits by default, or other labelled images (--data)."""

    DATA_KINDS = ("images",)  # figures of decoded images

    artifact: str = flag("saved_models/vae_mnist", "SavedModel directory of a zoo artifact (with encode and decode "
                                                   "endpoints, or generate)", flags.artifact_dir(*ENDPOINTS))
    out_dir: str = flag("runs/latent_moves", "where to write the PNGs", flags.owned_dir(OUT_DIR))
    seed: int = flag(0, "seed of the digits and codes picked (and of the test part held out of data that has none)",
                     flags.SEED)


def main(argv=None):
    settings = flags.parse(LatentMovesConfig, argv, prog=PROG, description=__doc__)
    import numpy as np
    import tensorflow as tf

    import zoo
    from zoo import plots, sources
    from zoo.data import unit_images
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
        arrays = sources.load_flags(settings, settings.seed)
        sources.require_labels(arrays.y_test is not None, settings.data, f"{PROG}'s attribute vectors")
        images, labels = unit_images(arrays.x_test), arrays.y_test
        zoo.require_input_shape(f"--artifact {settings.artifact}", zoo.endpoint_input_shape(artifact, "encode"),
                                settings.data, images.shape[1:])
        encode = lambda x: artifact.encode(tf.constant(x))["code"].numpy()  # noqa: E731
        decode = lambda codes: artifact.decode(tf.constant(codes))["probs"].numpy()  # noqa: E731
        classes = np.resize(rng.permutation(len(arrays.class_names)), PICKED)  # each class once, while they last
        picked = [rng.choice(np.flatnonzero(labels == d), 1)[0] for d in classes]
        codes = encode(images[picked])
        pairs = [(codes[i], codes[i + 1]) for i in range(0, PICKED, 2)]
        shown = [c for c in ATTRIBUTE_CLASSES if c < len(arrays.class_names)]
        written = [plots.interpolation_comparison(decode, pairs, out_dir / f"{name}_interpolation.png"),
                   plots.attribute_vectors(encode, decode, images, labels, out_dir / f"{name}_attributes.png",
                                           seed=settings.seed, classes=shown)]
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    cli.run_main(main)
