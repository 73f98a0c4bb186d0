"""Flags: a config dataclass's fields become command-line flags, built and checked here once for every
recipe and entry point (layer 1: no TensorFlow, so that command lines parse and fail fast).

Each dataclass field made with `flag(...)` becomes a flag (`latent_dim` -> `--latent-dim`) with the
field's default, type, help, choices and check (a function returning an error message or None). Bad
values exit with status 2 and one line.
"""

import argparse
import contextlib
import dataclasses
import json
import math
import os
import re
import shlex
import sys
import zipfile
import zlib
from pathlib import Path

from zoo import files


def flag(default, help, check=None, choices=None, model_arg=False, type=None):
    """A config field that the CLI exposes as a flag; `model_arg` fields are passed to the model's constructor."""
    metadata = {"help": help, "check": check, "choices": choices, "model_arg": model_arg, "type": type}
    if isinstance(default, (list, tuple)):
        return dataclasses.field(default_factory=lambda: tuple(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


class Flags:
    """Base of the config dataclasses whose fields are flags. A subclass changes the defaults of flags it inherits
    in `DEFAULTS` (e.g. `DEFAULTS = {"epochs": 20}`) without declaring them again: their help, check and choices
    stay where they are declared."""

    DEFAULTS = {}

    def check(self):
        """A message if flags that involve each other disagree, else None (a subclass adds its checks, then calls
        this)."""
        return None

    def __init_subclass__(cls, **kwargs):
        # Runs before @dataclass reads the class: each changed default becomes the class's own field.
        super().__init_subclass__(**kwargs)
        inherited = getattr(cls, "__dataclass_fields__", {})
        if "__annotations__" not in cls.__dict__:
            cls.__annotations__ = {}
        for name, default in cls.__dict__.get("DEFAULTS", {}).items():
            if "help" not in getattr(inherited.get(name), "metadata", {}) or name in cls.__annotations__:
                raise TypeError(f"{cls.__name__}.DEFAULTS: {name} is not a flag it inherits without declaring it")
            cls.__annotations__[name] = inherited[name].type
            setattr(cls, name, flag(default, **inherited[name].metadata))


# Checks: each takes the flag name and value and returns an error message, or None when the value is fine.
def positive(name, value):
    values = value if isinstance(value, tuple) else (value,)
    if not all(math.isfinite(v) and v > 0 for v in values):
        return f"{name} must be positive; received {name}={_show(value)}"


def optional(check):
    """`check`, passing None (a flag whose default is None: not given)."""
    return lambda name, value: None if value is None else check(name, value)


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


def image_size(name, value):
    """A check of an image size: nothing (the source's own) or two sides H W in 1..4096."""
    if value and not (len(value) == 2 and all(1 <= side <= 4096 for side in value)):
        return f"{name} takes two sides H W, each in 1..4096 (or nothing: the source's own size); received {_show(value)}"


def non_negative(name, value):
    if not (math.isfinite(value) and value >= 0):
        return f"{name} must be >= 0; received {name}={value}"


def digits(name, value):
    bad = [d for d in value if not 0 <= d <= 9]
    if bad or len(set(value)) != len(value):
        return f"{name} takes distinct digits 0..9; received {name}={_show(value)}"


digits.bounds = (0, 9)


def existing_dir(name, value):
    if value == "":  # Path("") is the working directory
        return f"{name} takes a directory; received an empty path"
    if value is not None and not Path(value).is_dir():
        return f"{name} directory does not exist: {value}"


def file_path(name, value):
    """A path to write a file to (zoo.files.writable_file_problem: not a directory, a device or a FIFO)."""
    problem = files.writable_file_problem(value)
    return problem and f"{name} takes a file to write: {problem}"


def files_dir(name, value):
    """A directory to write named files into (not a file; made if missing)."""
    if not value or Path(value).exists() and not Path(value).is_dir():
        return f"{name} takes a directory to write files into; received {name}={value!r}"


def owned_dir(purpose):
    """A check of a directory the zoo writes, reuses and deletes in as `purpose` (zoo.files.owned_dir_problem: new,
    empty or marked as the zoo's, no symbolic links inside), so that a wrong directory stops before any work."""
    def check(name, value):
        problem = files.owned_dir_problem(value, purpose)
        return problem and f"{name}: {problem}"
    check.purpose = purpose
    return check


def shell_words(name, value):
    """A check that a flag holds more flags as one shell-quoted string (what shlex.split reads)."""
    try:
        shlex.split(value)
    except ValueError as error:
        return f"{name} takes flags as one shell-quoted string; received {name}={value!r} ({error})"


CARD_BYTES = 1_000_000  # the most of a card.json (or a .keras archive's config.json) a flag check reads


def _json_object(read):
    """(the JSON object in the bytes `read(limit)` returns, None) or (None, what is wrong with them)."""
    raw = read(CARD_BYTES + 1)
    if len(raw) > CARD_BYTES:
        return None, f"is larger than {CARD_BYTES:,} bytes"
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        return None, f"is not JSON ({str(error)[:100]})"
    return (value, None) if isinstance(value, dict) else (None, f"holds a JSON {type(value).__name__}, not an object")


def read_card(directory):
    """(the card.json of an artifact directory, a dict; None) or (None, what keeps it from being one, naming the
    file): missing, not a regular file, larger than CARD_BYTES (no more is read), not JSON, not a JSON object."""
    path = Path(directory) / "card.json"
    if not path.is_file():
        return None, f"{path} is not a regular file" if path.exists() else f"{path} does not exist"
    try:
        with open(path, "rb") as card_file:
            card, problem = _json_object(card_file.read)
    except OSError as error:
        card, problem = None, f"cannot be read ({error.strerror})"
    return card, problem and f"{path} {problem}"


def artifact_problem(path, endpoint_sets=(), models=(), files=()):
    """Why `path` is not an exported artifact of this zoo, or None: a directory holding saved_model.pb and card.json
    (a JSON object), each of `files`, a card whose "model" is one of `models` (where given) and whose "endpoints" hold
    all of at least one of `endpoint_sets` (where given). Reads the card only (at most CARD_BYTES), no TensorFlow."""
    if not path:
        return "the path is empty"
    path = Path(path)
    if not path.is_dir():
        return f"{str(path)!r} is not a directory" if path.exists() else f"{str(path)!r} does not exist"
    missing = [name for name in ("card.json", "saved_model.pb", *files) if not (path / name).is_file()]
    if missing:
        return f"{path} holds no {' and no '.join(missing)}"
    card, problem = read_card(path)
    if problem:
        return problem
    if "model.keras" in files and keras_archive_problem(path / "model.keras"):
        return keras_archive_problem(path / "model.keras")
    if models and card.get("model") not in models:
        return f"{path} holds a {card.get('model')!r} model (card.json), not {' or '.join(map(repr, models))}"
    listed = card.get("endpoints")
    if endpoint_sets and not (isinstance(listed, list) and any(set(wanted) <= set(listed) for wanted in endpoint_sets)):
        shown = ", ".join(map(str, listed)) if isinstance(listed, list) else "none"
        return f"{path} has no {' or '.join(' and '.join(sorted(wanted)) for wanted in endpoint_sets)} endpoint " \
               f"(its card.json lists {shown or 'none'})"
    return None


def artifact_dir(*endpoint_sets, models=(), files=()):
    """A check that a flag (or each value of a list flag) names an exported artifact (see `artifact_problem`): e.g.
    `artifact_dir({"restore"})`, or `artifact_dir({"encode", "decode"}, {"generate"})` for either pair."""
    def check(name, value):
        values = value if isinstance(value, tuple) else (value,)
        if not values:
            return f"{name} takes at least one artifact directory; received none"
        for path in values:
            problem = artifact_problem(path, endpoint_sets, models, files)
            if problem:
                return f"{name} takes an artifact directory (card.json, saved_model.pb{''.join(', ' + f for f in files)}" \
                       f"); {problem}"
    return check


MAX_ARCHIVE_BYTES = 2**30  # what a .keras archive may declare its members hold, uncompressed (the zoo's: a few MB)


def keras_archive_problem(path, class_name=None):
    """Why `path` is not a `.keras` model archive (of the Keras class `class_name`, e.g. "zoo.models.ae.AE", where
    given), or None: a regular file, a zip whose members declare at most MAX_ARCHIVE_BYTES uncompressed (a zip bomb
    is refused before Keras inflates it), holding config.json, a JSON object (at most CARD_BYTES are read)."""
    problem = None
    try:
        if not Path(path).is_file():  # a device or a FIFO would be read without end
            raise FileNotFoundError(path)
        with zipfile.ZipFile(path) as archive:
            declared = sum(member.file_size for member in archive.infolist())
            if declared > MAX_ARCHIVE_BYTES:
                return f"{str(path)!r} declares {declared} bytes uncompressed, more than {MAX_ARCHIVE_BYTES}"
            with archive.open("config.json") as config_file:
                config, problem = _json_object(config_file.read)
    except KeyError:
        problem = "is a zip without config.json"
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as error:
        problem = ("does not exist" if not Path(path).exists() else "is not a regular file"
                   if not Path(path).is_file() else f"is not a zip ({str(error)[:100]})")
    if problem is None and class_name and f"{config.get('module')}.{config.get('class_name')}" != class_name:
        problem = f"holds a {config.get('module')}.{config.get('class_name')}, not a {class_name}"
    return problem and f"{str(path)!r} {problem}"


def keras_archive(class_name=None):
    """A check that a flag names a `.keras` model archive (see `keras_archive_problem`)."""
    def check(name, value):
        problem = keras_archive_problem(value, class_name)
        if problem:
            return f"{name} takes a .keras model archive{f' of a {class_name}' if class_name else ''}; {problem}"
    return check


def _show(value):
    return " ".join(map(str, value)) if isinstance(value, tuple) else value


@dataclasses.dataclass
class NoFlags:
    """The settings of a command that takes no flags: `parse(NoFlags, ...)` answers --help and refuses anything else
    in one line, as every command does."""


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        one_line = message.replace("\r", "\\r").replace("\n", "\\n")  # a value may hold line breaks
        self.exit(2, f"{self.prog}: error: {one_line}\n")


def flag_name(name):
    """The flag of the field `name`: "latent_dim" -> "--latent-dim"."""
    return "--" + name.replace("_", "-")


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
        parser.add_argument(flag_name(field.name), **kwargs)
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
            parser.error(f"{flag_name(field.name)} takes at least one value; received none")
        message = check and check(flag_name(field.name), value)
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


def settings_dict(config):
    """The one serialised form of a config's settings: {field: value} of every field, as JSON reads it back (tuples
    as lists). The card's flags, a run's checkpoint, the speed cache's key and `zoo.refresh` are all parts of it."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def saved_value_problem(config_cls, name, value):
    """Why `value`, read back from a `settings_dict` (JSON), is not a value the flag `name` of `config_cls` takes (its
    type, its choices, its check), or None: for settings that a file rather than a command line gives."""
    field = config_cls.__dataclass_fields__[name]
    default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
    if isinstance(default, tuple):
        element = field.metadata["type"] or (type(default[0]) if default else int)
        fits = isinstance(value, list) and all(_is_a(v, element) for v in value)
        value = tuple(value) if fits else value
    else:
        fits = _is_a(value, field.metadata["type"] or type(default))
    if not fits:
        kind = "a list" if isinstance(default, tuple) else KINDS.get(type(default), type(default).__name__)
        return f"{flag_name(name)} holds {value!r}, which is not {kind}"
    if field.metadata["choices"] and value not in field.metadata["choices"]:
        return f"{flag_name(name)} must be one of {', '.join(field.metadata['choices'])}; received {value!r}"
    check = field.metadata["check"]
    return check and check(flag_name(name), value)


KINDS = {int: "a whole number", float: "a number", str: "text", bool: "true or false"}


def _is_a(value, wanted):
    """Whether a JSON value is of the flag type `wanted` (an int is a float; a bool is not an int)."""
    if wanted is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, wanted) and (wanted is bool or not isinstance(value, bool))


def from_dict(config_cls, saved):
    """The `config_cls` settings in `saved`, a `settings_dict` perhaps written by an older version (a card's flags):
    a field it lacks has its default, as a run made before the field existed behaved; other keys are ignored. Nothing
    is checked: these are settings a run already ran with."""
    return config_cls(**{field.name: tuple(saved[field.name]) if isinstance(saved[field.name], list)
                         else saved[field.name] for field in dataclasses.fields(config_cls) if field.name in saved})
