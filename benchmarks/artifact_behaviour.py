"""What every committed artifact's endpoints do, judged by the committed classifier on real test digits:
`python -m benchmarks.artifact_behaviour [--models saved_models] [--data-dir DIR]`.

Every artifact under --models (found from the directory, never a list) is loaded with `tf.saved_model.load` and each
signature it declares is called as a TF Serving client would call it, on the first 1,000 MNIST test digits (binarized
once where the card says the model was tested on binarized digits), with `saved_models/mnist_classifier` reading the
results:
  reconstruct, decode(encode(x))  the share of reconstructions the classifier reads as the input's digit (the CVAE is
                                  given the true digit)
  sample, generate                each digit's share of 1,000 draws (the CVAE: the share of draws of digit c read as c)
  score                           AUROC of test digits against inverted digits and against uniform noise (higher
                                  score = more unusual), and the share of test digits at or under the card's threshold
  restore                         PSNR of the restoration and of the corrupted input, for the card's corruption
  classify                        accuracy
Every output is also checked: finite, and images in [0, 1]. tests/test_behaviour.py asserts floors on these numbers
in CI; this command writes them to benchmarks/results/artifact_behaviour.json, which the README's artifact table
shows (benchmarks.artifact_table).
"""

import dataclasses
import json
from pathlib import Path

from benchmarks import write_results
from zoo import cli, flags
from zoo.flags import flag

PROG = "python -m benchmarks.artifact_behaviour"
RESULTS = Path(__file__).parent / "results" / "artifact_behaviour.json"


@dataclasses.dataclass
class BehaviourConfig:
    """Flags of `python -m benchmarks.artifact_behaviour`."""

    models: str = flag("saved_models", "directory whose subdirectories are the artifacts", flags.existing_dir)
    data_dir: str = flag(None, "directory of the MNIST IDX files (default: $ZOO_DATA_DIR)", flags.existing_dir)
    out: str = flag(str(RESULTS), "where to write the results (JSON)", flags.file_path)


def main(argv=None):
    settings = flags.parse(BehaviourConfig, argv, prog=PROG, description=__doc__)
    from benchmarks import judges  # imports TensorFlow: only once the flags are known to be good

    judge = judges.Judge(settings.models)
    results = {"command": flags.command_line(PROG, argv), "images": judges.IMAGES, "draws": judges.DRAWS,
               "judge": judges.JUDGE, "artifacts": {}}
    for path in judges.artifact_paths(settings.models):
        artifact = judges.Artifact(path)
        results["artifacts"][artifact.name] = {**judges.measure(artifact, judge, settings.data_dir),
                                               "faults": artifact.faults}
        print(artifact.name, json.dumps(results["artifacts"][artifact.name]), flush=True)
    write_results(settings.out, results)
    print(f"wrote {settings.out}")
    return results


if __name__ == "__main__":
    cli.run_main(main)
