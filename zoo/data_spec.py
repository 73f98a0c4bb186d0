"""PROVISIONAL (replaced by the sources branch): the --data spec."""

SOURCE_KINDS = ("mnist", "tfds", "images", "arrays", "csv", "sklearn")


def problem(name, value):
    kind = value.split(":", 1)[0]
    if kind not in SOURCE_KINDS:
        return f"{name} must be one of mnist, tfds:NAME[:SPLIT], images:DIR, arrays:FILE.npz, csv:FILE, sklearn:NAME; received {name}={value!r}"
    return None
