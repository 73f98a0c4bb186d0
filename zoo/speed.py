"""Speed settings chosen by measurement on the machine in use: what `--xla auto` and `--precision auto` become.

Whether XLA pays differs between CPUs (1.05x on a 2-core AMD EPYC, 1.38x per step on a 2-core Intel Xeon with AMX),
so no fixed rule is right on both. On a CPU, `choose` times a few training steps of the model without and with XLA
(float32 without XLA is the baseline), alternating short passes, and keeps XLA only if its best pass beats the
baseline's by MARGIN: a noisy measurement can then cost at most the noise, never a slow setting. Precision is not a
speed setting alone: on CPU `--precision auto` is float32 and mixed_bfloat16 is used only when asked for, since
bfloat16 changes the result and makes runs differ from one another where float32 runs agree (docs/speed.md).
The choice is cached per machine (CPU, cores, the cores this process may use), TensorFlow and Keras versions, model,
batch size, replicas, candidates and measurement in CACHE_FILE (or $ZOO_SPEED_CACHE), so that a run measures once; an
entry read back is checked (`entry_fault`), and a damaged one is measured again, with a line saying why. With a GPU the rule is fixed (XLA and mixed_float16): it cannot be measured here.
ZOO_SPEED_AUTO=rule skips the measurement everywhere (the tests set it): auto is then float32 without XLA on CPU.
"""

import hashlib
import json
import os
import time
from pathlib import Path

import keras
import tensorflow as tf

from zoo.files import MapOf, Number, Record, atomic_write_text, present, read_json

CACHE_ENV = "ZOO_SPEED_CACHE"
AUTO_ENV = "ZOO_SPEED_AUTO"
CACHE_FILE = Path.home() / ".cache" / "autoencoder-zoo" / "speed_settings.json"
MARGIN = 1.05  # a candidate must be this much faster than float32 without XLA to be chosen
TIMED_STEPS = 40
TIMED_PASSES = 3
BASELINE = (False, "float32")


def _first_processor(cpuinfo):
    """The fields of the first processor's block of /proc/cpuinfo's text, {name: value}."""
    fields = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            break  # the end of the first processor's block
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def describe_cpu(cpuinfo):
    """"AMD EPYC (family 23, model 1; AVX2)" from the text of /proc/cpuinfo (its first processor), or None without a
    model name. Machines sold under one name differ several-fold in speed (the zoo's "AMD EPYC" machines include
    Zen 1 with AVX2 and Zen 4 with AVX-512), so the family, model and widest vector instructions go beside it."""
    fields = _first_processor(cpuinfo)
    if "model name" not in fields:
        return None
    flags = set(fields.get("flags", "").split())
    vector = ("AMX" if "amx_tile" in flags else "AVX-512 with bf16" if "avx512_bf16" in flags
              else "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else None)
    details = [f"family {fields['cpu family']}, model {fields['model']}"] if "cpu family" in fields and "model" in fields else []
    details += [vector] if vector else []
    return f"{fields['model name']} ({'; '.join(details)})" if details else fields["model name"]


def cpu_model():
    """The CPU as `describe_cpu` names it from /proc/cpuinfo, or the platform's processor string."""
    try:
        described = describe_cpu(Path("/proc/cpuinfo").read_text())
        if described:
            return described
    except OSError:
        pass
    import platform
    return platform.processor() or "unknown CPU"


def candidates(xla_flag, precision_flag, replicas):
    """The (xla, precision) pairs to measure for the flags; the first is the baseline."""
    xla_options = {"on": [True], "off": [False], "auto": [False] if replicas > 1 else [False, True]}[xla_flag]
    precisions = ["float32"] if precision_flag == "auto" else [precision_flag]  # see the module doc
    return [(xla, precision) for precision in precisions for xla in xla_options]


def option_name(xla, precision):
    """How an (xla, precision) option reads in records: "xla=off,float32"."""
    return f"xla={'on' if xla else 'off'},{precision}"


def usable_cores():
    """The cores this process may run on (a taskset or a container's cpuset can leave fewer than the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def cache_key(model_config, batch_size, options, replicas=1):
    """The cache's key of a measurement: everything its images/s depend on, hashed."""
    text = json.dumps({"cpu": cpu_model(), "cores": os.cpu_count(), "usable_cores": usable_cores(),
                       "tensorflow": tf.__version__, "keras": keras.__version__, "model": model_config,
                       "batch_size": batch_size, "replicas": replicas, "options": options,
                       "measurement": [TIMED_STEPS, TIMED_PASSES, MARGIN]}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cache_path():
    return Path(os.environ.get(CACHE_ENV) or CACHE_FILE)


def chosen(rates, options):
    """The option {name: images/s} `rates` choose: the fastest if it beats the baseline (the first) by MARGIN."""
    baseline = rates[option_name(*options[0])]
    best = max(options, key=lambda option: rates[option_name(*option)])
    return best if rates[option_name(*best)] >= MARGIN * baseline else options[0]


def _read_cache(path, quiet=False):
    """The cache's entries ({} if there is no cache), after a line saying why if it cannot be read (unless
    `quiet`)."""
    if not present(path):
        return {}
    try:
        cache = read_json(path)
        if isinstance(cache, dict):
            return cache
        why = "not a JSON object"
    except ValueError as error:
        why = str(error)
    if not quiet:
        print(f"note: the speed settings cache {path} cannot be read ({why}); it is written afresh", flush=True)
    return {}


def entry_fault(entry, options):
    """Why a cached entry is not the record of a measurement of `options` (see `choose`), or None."""
    names = {option_name(*option) for option in options}
    why = Record({"xla": bool, "precision": {precision for _, precision in options}, "cpu": str,
                  "images_per_s": MapOf(Number(0, 1e12))}).fault(entry)
    if why:
        return why
    if entry["cpu"] != cpu_model():
        return f"measured on {entry['cpu']!r:.80}, not on this machine's CPU"
    if (entry["xla"], entry["precision"]) not in options:
        return f"{option_name(entry['xla'], entry['precision'])} is not one of the options measured"
    if set(entry["images_per_s"]) != names:
        return f"images_per_s names {sorted(entry['images_per_s'])}, not the options {sorted(names)}"
    if chosen(entry["images_per_s"], options) != (entry["xla"], entry["precision"]):
        return f"its images_per_s choose {option_name(*chosen(entry['images_per_s'], options))}, not the one it names"
    return None


def measure(build, batches, options, steps=TIMED_STEPS, passes=TIMED_PASSES):
    """{(xla, precision): images/s} of `build(xla, precision)` (a compiled model) fitting `steps` batches of
    `batches` (a repeated dataset of one batch size), its best pass: the options' passes alternate, after one untimed
    pass each. The best, not the median: on the 2-core VMs measured here whole passes stall now and then (by 1.3 s,
    2.6 s, 5.1 s), which only ever slows a pass."""
    models = {}
    for xla, precision in options:
        keras.mixed_precision.set_global_policy(precision)
        models[(xla, precision)] = build(xla, precision)
    keras.mixed_precision.set_global_policy("float32")
    batch_size = tf.nest.flatten(batches.element_spec)[0].shape[0]
    rates = {option: [] for option in models}
    for round_ in range(passes + 1):
        for option, model in models.items():
            start = time.perf_counter()
            model.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0)
            if round_:  # the first pass compiles
                rates[option].append(steps * batch_size / (time.perf_counter() - start))
    return {option: max(values) for option, values in rates.items()}


def choose(xla_flag, precision_flag, *, has_gpu, replicas, model_config, batch_size, build, batches,
           multi_worker=False):
    """The (xla, precision) to train with, and a record of why: {"xla", "precision", "how", ...}.

    `build(xla, precision)` makes a compiled model to time; `batches` is a repeated dataset of training batches.
    Flags other than auto are obeyed; auto follows the GPU rule with a GPU and measures (or reads the cache) on CPU,
    except in a multi-worker run, where every worker takes the rule.
    """
    if has_gpu:
        # XLA compiles Keras's fit under MirroredStrategy on one machine's GPUs (TF 2.8 release notes), not
        # under MultiWorkerMirroredStrategy.
        xla = xla_flag == "on" or (xla_flag == "auto" and not multi_worker)
        precision = "mixed_float16" if precision_flag == "auto" else precision_flag
        return {"xla": xla, "precision": precision, "how": "GPU rule (not measured)"}
    options = candidates(xla_flag, precision_flag, replicas)
    # Workers that measured could choose differently, and must train the same model: they take the rule.
    if len(options) == 1 or os.environ.get(AUTO_ENV) == "rule" or multi_worker:
        xla, precision = options[0]
        return {"xla": xla, "precision": precision, "how": "flags" if len(options) == 1 else "rule (not measured)"}
    path = _cache_path()
    key = cache_key(model_config, batch_size, [list(option) for option in options], replicas)
    cache = _read_cache(path)
    if key in cache:
        why = entry_fault(cache[key], options)
        if not why:
            return {**cache[key], "how": f"measured before on this machine (cached in {path})"}
        print(f"note: the speed settings cached in {path} for this model are damaged ({why}); measuring again",
              flush=True)
    rates = {option_name(*option): round(rate) for option, rate in measure(build, batches, options).items()}
    xla, precision = chosen(rates, options)
    record = {"xla": xla, "precision": precision, "cpu": cpu_model(), "images_per_s": rates}
    cache = {**_read_cache(path, quiet=True), key: record}  # read again: another process may have added entries
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(cache, indent=1))
    except OSError as error:  # an unwritable cache costs a measurement next time, nothing else
        print(f"note: could not cache the speed settings in {path} ({error})")
    return {**record, "how": "measured now"}


def describe(choice):
    """One line for the console: the settings and why."""
    text = f"speed settings: XLA {'on' if choice['xla'] else 'off'}, {choice['precision']} ({choice['how']}"
    if "images_per_s" in choice:
        text += "; images/s " + ", ".join(f"{name} {rate}" for name, rate in choice["images_per_s"].items())
        text += f" on {choice['cpu']}"
    return text + ")"
