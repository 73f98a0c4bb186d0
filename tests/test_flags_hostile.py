"""Every flag of every command (recipes, tuning.search, benchmarks, zoo.refresh) given hostile values: the
command line stops with status 2 and one line naming the flag, before any work starts, or parses into values
its checks allow. Never a traceback."""

import dataclasses
import importlib
import pkgutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from zoo import flags


def command_configs():
    """(module name, config class) of every command's flags."""
    found = []
    for package in ("recipes", "tuning", "benchmarks"):
        for info in pkgutil.iter_modules([str(ROOT / package)]):
            found.append(f"{package}.{info.name}")
    found.append("zoo.refresh")
    configs = []
    for name in found:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if dataclasses.is_dataclass(value) and isinstance(value, type) and value.__module__ == name and any(
                    "help" in field.metadata for field in dataclasses.fields(value)):
                configs.append((name, value))
    return configs


CONFIGS = command_configs()
CONFIG_IDS = [name for name, _ in CONFIGS]


def flag_fields(config_cls):
    return [field for field in dataclasses.fields(config_cls) if "help" in field.metadata]


def default_of(field):
    return field.default if field.default is not dataclasses.MISSING else field.default_factory()


def is_count(field):
    default = default_of(field)
    values = default if isinstance(default, tuple) else (default,)
    return field.metadata["type"] in (None, int) and values and all(
        isinstance(v, int) and not isinstance(v, bool) for v in values)


def parse_outcome(config_cls, argv, capsys):
    """("ok", config) or ("exit", status, stderr)."""
    try:
        return ("ok", flags.parse(config_cls, argv, prog="cmd"))
    except SystemExit as exit_info:
        return ("exit", exit_info.code, capsys.readouterr().err)


def test_every_command_was_found():
    assert {"recipes.vae_mnist", "recipes.autorec_movielens", "tuning.search", "zoo.refresh",
            "benchmarks.sample_quality"} <= set(CONFIG_IDS)


@pytest.mark.parametrize("name, config_cls", CONFIGS, ids=CONFIG_IDS)
def test_every_count_flag_has_bounds_and_refuses_absurd_values(name, config_cls, capsys):
    for field in filter(is_count, flag_fields(config_cls)):
        flag_name = "--" + field.name.replace("_", "-")
        assert hasattr(field.metadata["check"], "bounds"), f"{name} {flag_name} has no bounds"
        for absurd in ("99999999999999999999", "3000000000", "-1"):
            outcome = parse_outcome(config_cls, [flag_name, absurd], capsys)
            assert outcome[:2] == ("exit", 2) and outcome[2].count("\n") == 1 and flag_name in outcome[2], outcome


@pytest.mark.parametrize("name, config_cls", CONFIGS, ids=CONFIG_IDS)
def test_a_list_flag_with_values_by_default_refuses_none(name, config_cls, capsys):
    for field in flag_fields(config_cls):
        if isinstance(default_of(field), tuple) and default_of(field):
            flag_name = "--" + field.name.replace("_", "-")
            outcome = parse_outcome(config_cls, [flag_name], capsys)
            assert outcome == ("exit", 2, f"cmd: error: {flag_name} takes at least one value; received none\n")


HOSTILE_TEXT = st.one_of(st.sampled_from(["", "nan", "inf", "-inf", "1e400", "-0", "0", "1", "2", "99999999999999999999",
                                          "3e38", "--", "-5", "0.5", "x", "None", "../..", "/"]),
                         st.text(max_size=12), st.integers(-2**70, 2**70).map(str),
                         st.floats(allow_nan=True, allow_infinity=True).map(repr))


@pytest.mark.parametrize("name, config_cls", CONFIGS, ids=CONFIG_IDS)
def test_any_flag_value_parses_within_its_checks_or_exits_2_with_one_line(name, config_cls, capsys):
    fields = [field for field in flag_fields(config_cls) if not isinstance(default_of(field), bool)]

    @settings(max_examples=60, deadline=None)
    @given(st.data())
    def check(data):
        field = data.draw(st.sampled_from(fields))
        values = data.draw(st.lists(HOSTILE_TEXT, min_size=1, max_size=3 if isinstance(default_of(field), tuple) else 1))
        outcome = parse_outcome(config_cls, ["--" + field.name.replace("_", "-"), *values], capsys)
        if outcome[0] == "exit":
            assert outcome[1] == 2 and outcome[2].count("\n") == 1 and outcome[2].startswith("cmd: error: "), outcome
            return
        value = getattr(outcome[1], field.name)
        check_of = field.metadata["check"]
        assert not (check_of and check_of("--x", value)), (field.name, value)
        if field.metadata["choices"]:
            assert all(v in field.metadata["choices"] for v in (value if isinstance(value, tuple) else (value,)))

    check()


ENTRY_POINTS = sorted(f"{path.parent.name}.{path.stem}" for package in ("recipes", "benchmarks", "tuning", "zoo")
                      for path in (ROOT / package).glob("*.py") if 'if __name__ == "__main__"' in path.read_text())

# Runs each entry point as `python -m NAME ARGS` would, in a child forked from a process that has not imported
# TensorFlow; prints, per entry point, its exit status, its stderr and whether TensorFlow was imported.
FORKED_ENTRY_POINTS = """
import json, os, runpy, signal, sys, tempfile
names, args = json.loads(sys.argv[1]), json.loads(sys.argv[2])
import zoo.flags, numpy  # what every entry point imports anyway
outcomes = {}
for name in names:
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        pid = os.fork()
        if pid == 0:
            os.dup2(err.fileno(), 2)
            os.dup2(out.fileno(), 1)
            sys.argv = [name, *args]
            code = 0
            try:
                signal.alarm(60)  # an entry point that ignores its flags and starts working is stopped
                runpy.run_module(name, run_name="__main__", alter_sys=True)
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
            except BaseException:
                code = 99
            sys.stdout.flush()
            sys.stderr.flush()
            os.write(1, ("\\n" + json.dumps("tensorflow" in sys.modules)).encode())
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        err.seek(0)
        out.seek(0)
        outcomes[name] = {"status": os.waitstatus_to_exitcode(status), "stderr": err.read().decode(errors="replace"),
                          "tensorflow": out.read().decode(errors="replace").rstrip().endswith("true")}
print(json.dumps(outcomes))
"""


def entry_point_outcomes(args):
    import json

    from tests.conftest import run_python

    result = run_python(["-c", FORKED_ENTRY_POINTS, json.dumps(ENTRY_POINTS), json.dumps(args)], timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_every_entry_point_refuses_an_unknown_flag_in_one_line_before_tensorflow_starts():
    assert {"recipes.vae_mnist", "benchmarks.training_speed", "benchmarks.semi_supervised_speed", "zoo.serve",
            "zoo.refresh", "tuning.search"} <= set(ENTRY_POINTS)
    outcomes = entry_point_outcomes(["--no-such-flag"])
    wrong = {name: outcome for name, outcome in outcomes.items()
             if outcome["status"] != 2 or outcome["stderr"].count("\n") != 1 or outcome["tensorflow"]
             or "--no-such-flag" not in outcome["stderr"]}
    assert wrong == {}


def test_every_entry_point_answers_help_before_tensorflow_starts():
    outcomes = entry_point_outcomes(["--help"])
    wrong = {name: outcome for name, outcome in outcomes.items() if outcome["status"] != 0 or outcome["tensorflow"]}
    assert wrong == {}
