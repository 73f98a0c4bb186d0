"""Flags: a config dataclass's fields become command-line flags, built and checked here once for every
recipe and entry point (layer 1: no TensorFlow, so that command lines parse and fail fast).

Each dataclass field made with `flag(...)` becomes a flag (`latent_dim` -> `--latent-dim`) with the
field's default, type, help, choices and check (a function returning an error message or None). Bad
values exit with status 2 and one line.
"""

import argparse
import contextlib
import dataclasses
import math
import os
import re
import shlex
import sys
from pathlib import Path


def flag(default, help, check=None, choices=None, model_arg=False, type=None):
    """A config field that the CLI exposes as a flag; `model_arg` fields are passed to the model's constructor."""
    metadata = {"help": help, "check": check, "choices": choices, "model_arg": model_arg, "type": type}
    if isinstance(default, (list, tuple)):
        return dataclasses.field(default_factory=lambda: tuple(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


# Checks: each takes the flag name and value and returns an error message, or None when the value is fine.
def positive(name, value):
    values = value if isinstance(value, tuple) else (value,)
    if not all(math.isfinite(v) and v > 0 for v in values):
        return f"{name} must be positive; received {name}={_show(value)}"


def count(low, high):
    """A check that an integer flag (or each value of a list flag) is in low..high: every count has an upper bound,
    so that an absurd value stops at the command line rather than deep inside TensorFlow."""
    def check(name, value):
        values = value if isinstance(value, tuple) else (value,)
        if not all(low <= v <= high for v in values):
            return f"{name} must be in {low}..{high}; received {name}={_show(value)}"
    check.bounds = (low, high)
    return check


SEED = count(0, 2**31 - 1)  # what TensorFlow's and NumPy's seeds all take
EPOCHS = count(1, 10_000)
BATCH_SIZE = count(1, 60_000)
IMAGE_COUNT = count(0, 60_000)  # 0 = all, for train limits
WIDTHS = count(1, 10_000)  # layer widths and code sizes


# A whole number in ASCII digits: str.isdigit also takes superscripts ("²", which int() refuses) and int() other
# scripts' digits ("٣").
NATURAL = re.compile(r" *[0-9]{1,7} *")


def steps_of(value):
    """(A, B) of a step range "A,B" that `step_range` accepted; () for ""."""
    return tuple(int(part) for part in value.split(",")) if value else ()


def step_range(name, value):
    """A check of "A,B" (training steps A to B, 1 <= A <= B <= 1000000), or "" for none."""
    if value == "":
        return None
    parts = value.split(",")
    if not (len(parts) == 2 and all(NATURAL.fullmatch(p) for p in parts)
            and 1 <= int(parts[0]) <= int(parts[1]) <= 1_000_000):
        return f"{name} takes two steps A,B with 1 <= A <= B <= 1000000 (or nothing); received {name}={value!r}"


def open_unit_interval(name, value):
    if not 0 < value < 1:
        return f"{name} must be in (0, 1); received {name}={value}"


def unit_interval_right_open(name, value):
    values = value if isinstance(value, tuple) else (value,)
    if not all(0 <= v < 1 for v in values):
        return f"{name} must be in [0, 1); received {name}={_show(value)}"


def non_negative(name, value):
    if not (math.isfinite(value) and value >= 0):
        return f"{name} must be >= 0; received {name}={value}"


def digits(name, value):
    bad = [d for d in value if not 0 <= d <= 9]
    if bad or len(set(value)) != len(value):
        return f"{name} takes distinct digits 0..9; received {name}={_show(value)}"


digits.bounds = (0, 9)


def existing_dir(name, value):
    if value is not None and not Path(value).is_dir():
        return f"{name} directory does not exist: {value}"


def file_path(name, value):
    """A path to write a file to: not an existing directory."""
    if not value or Path(value).is_dir():
        return f"{name} takes a file to write, not a directory; received {name}={value!r}"


def existing_dirs(name, value):
    missing = [path for path in value if not Path(path).is_dir()]
    if not value or missing:
        return f"{name} takes existing directories; received {name}={_show(value) or '(none)'}"


def _show(value):
    return " ".join(map(str, value)) if isinstance(value, tuple) else value


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        one_line = message.replace("\r", "\\r").replace("\n", "\\n")  # a value may hold line breaks
        self.exit(2, f"{self.prog}: error: {one_line}\n")


def _flag_name(field):
    return "--" + field.name.replace("_", "-")


def build_parser(config_cls, prog=None, description=None):
    """An argparse parser with one flag per `flag(...)` field of the dataclass `config_cls`."""
    parser = _OneLineParser(prog=prog, description=description,
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for field in dataclasses.fields(config_cls):
        if "help" not in field.metadata:
            continue
        meta = field.metadata
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        kwargs = {"default": default, "help": meta["help"], "dest": field.name}
        if isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif isinstance(default, tuple):
            kwargs.update(nargs="*", type=meta["type"] or (type(default[0]) if default else int))
        else:
            kwargs["type"] = meta["type"] or (type(default) if default is not None else str)
        if meta["choices"]:
            kwargs["choices"] = meta["choices"]
        parser.add_argument(_flag_name(field), **kwargs)
    return parser


def parse(config_cls, argv=None, prog=None, description=None):
    """Parses `argv` into a `config_cls` instance; on a bad value prints one line and exits with status 2."""
    parser = build_parser(config_cls, prog, description)
    values = vars(parser.parse_args(argv))
    for field in dataclasses.fields(config_cls):
        if field.name in values and isinstance(values[field.name], list):
            values[field.name] = tuple(values[field.name])
    config = config_cls(**values)
    for field in dataclasses.fields(config_cls):
        check, value = field.metadata.get("check"), getattr(config, field.name)
        if value == () and field.default_factory is not dataclasses.MISSING and field.default_factory():
            parser.error(f"{_flag_name(field)} takes at least one value; received none")
        message = check and check(_flag_name(field), value)
        if message:
            parser.error(message)
    message = config.check() if hasattr(config, "check") else None  # checks involving several flags
    if message:
        parser.error(message)
    return config


@contextlib.contextmanager
def native_stderr_silenced():
    """Silences what native code writes to stderr (TensorFlow's start-up logs, which ignore
    TF_CPP_MIN_LOG_LEVEL before absl is initialized), for checks that must import TensorFlow and
    still fail in one line."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def command_line(prog, argv=None):
    """The command as a user would retype it, e.g. "python -m recipes.vae_mnist --epochs 3"."""
    return " ".join([prog, shlex.join(sys.argv[1:] if argv is None else argv)]).strip()


def model_kwargs(config):
    """The config's model constructor arguments."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.metadata.get("model_arg")}
