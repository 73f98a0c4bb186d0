"""Entry points of the recipes (the top layer): `recipe_main` parses a recipe's flags before TensorFlow is
imported, then hands the settings to the publishing pipeline; `run_main` turns expected errors into one line."""

import sys

from zoo import flags
from zoo.errors import ZooError


def recipe_main(config_cls, prog, description):
    """The `main(argv=None)` of a training recipe: parse the flags (before TensorFlow is imported), then train,
    evaluate, draw and export through `zoo.pipeline.publish`."""

    def main(argv=None):
        settings = flags.parse(config_cls, argv, prog=prog, description=description)
        from zoo import pipeline  # imports TensorFlow: only once the flags are known to be good

        return pipeline.publish(settings, command=flags.command_line(prog, argv))

    main.config_cls = config_cls  # for callers that rebuild the recipe's settings (benchmarks, tuning)
    return main


def run_main(main):
    """Runs an entry point's `main`, turning expected errors (bad data, a diverged run) into one line and status 1."""
    try:
        main()
    except ZooError as error:
        sys.stderr.write(f"error: {error}\n")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: the last finished epoch is checkpointed; rerun the same command to resume\n")
        sys.exit(130)
