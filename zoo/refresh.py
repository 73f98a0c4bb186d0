"""Re-export committed artifacts with the current endpoints: `python -m zoo.refresh saved_models/vae_mnist ...`.

Each artifact is reloaded from its model.keras (the weights are not touched), its anomaly threshold is
recomputed on MNIST training images where it has a `score` endpoint and its latent directions (the card's
"latent" entry, which the server serves) on MNIST test images, and it is written again atomically with its card
(flags, command, measured metrics) and figures kept.
"""

import dataclasses

from zoo import cli, config, flags
from zoo.flags import flag

PROG = "python -m zoo.refresh"


@dataclasses.dataclass
class RefreshConfig:
    """Flags of `python -m zoo.refresh`."""

    artifacts: tuple = flag((), "artifact directories to re-export (each with card.json and model.keras)",
                            flags.artifact_dir(files=("model.keras",)), type=str)
    data_dir: str = flag(None, f"directory of the MNIST IDX files (default: ${config.DATA_DIR_ENV})", flags.existing_dir)


def main(argv=None):
    settings = flags.parse(RefreshConfig, argv, prog=PROG, description=__doc__)
    from zoo import pipeline

    command = flags.command_line(PROG, argv)
    for directory in settings.artifacts:
        print(f"re-exported {pipeline.refresh(directory, settings.data_dir, command)}", flush=True)


def console_main():
    """The console script of the installed package (pyproject.toml)."""
    cli.run_main(main)


if __name__ == "__main__":
    console_main()
