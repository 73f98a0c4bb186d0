"""The servables: every SavedModel under the server's --models directory, loaded once with `tf.saved_model.load`,
with its signatures (`Signature`: function, input specs, output names), its SignatureDefs as TF Serving's metadata
writes them, its card, figures and the card's latent directions; `call_signature` runs a signature and turns the
refusal of an endpoint's input checks into the endpoint's own message."""

import dataclasses
import functools
import itertools
import re
from pathlib import Path
from urllib.parse import quote

import tensorflow as tf
from google.protobuf import json_format
from tensorflow.core.protobuf import saved_model_pb2

import zoo
from zoo.errors import ZooError
from zoo.files import ListOf, Number, Record, fault
from zoo.request_parsing import InputSpec, RequestError, shape_text

# The signatures whose input is the model's data (an image or a table row), in the order `data_input` looks at them;
# the data's name is "images" (one input [H, W, C], or [d] from before rows were named) or "rows" (one row [d]).
DATA_SIGNATURES = ("reconstruct", "score", "encode", "classify", "restore", "serving_default")
DATA_NAMES = ("images", "rows")

# The card metrics the gallery shows, in this order, where a card has them.
KEY_METRICS = ("test_nll_nats", "test_elbo_nats", "test_bce_nats", "test_squared_error", "test_accuracy",
               "frechet_distance", "test_rmse")
# A card's "latent" entry as zoo.latent.card_entry writes it (at export); checked before the page is given it.
LATENT_ENTRY = Record({"mean": ListOf(Number(), 2), "directions": ListOf(ListOf(Number(), 2), 2, 2),
                       "scales": ListOf(Number(0), 2, 2), "images": Number(1, integer=True),
                       "code_size": Number(2, integer=True)})


def bracketed(text):
    """The top-level [...] items of `text`, unwrapped: ["a [0, 1] b", "12"] from "[a [0, 1] b] [12]"."""
    items, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "[":
            depth += 1
            start = index + 1 if depth == 1 else start
        elif char == "]" and depth:
            depth -= 1
            if not depth:
                items.append(text[start:index].strip())
    return items


def endpoint_message(error):
    """The endpoint's own words from an InvalidArgumentError raised inside a SavedModel (its input checks), without
    TensorFlow's preamble ("Graph execution error:", the node it was detected at), node names and tensor dumps:
    "digits must be in 0..9; found 12" from tf.debugging.Assert's "assertion failed: [digits must be in 0..9;
    found] [12]", and the message alone from an assert_* op's "[message] [Condition x <= y did not hold...] ..."."""
    lines = [line for line in error.message.splitlines() if line.strip() and not line[0].isspace()
             and line != "Graph execution error:" and not line.startswith(("Detected at node", "<stack traces"))]
    text = next((line for line in lines if "assertion failed: " in line), lines[0] if lines else error.message)
    text = re.sub(r"^(\{\{function_node [^}]*\}\}\s*)+", "", text)
    text = re.sub(r"\s*\[Op:[^\]]*\]\s*$", "", text)
    if "assertion failed: " not in text:
        return text
    items = bracketed(text.partition("assertion failed: ")[2])
    return " ".join(itertools.takewhile(lambda item: not item.startswith("Condition "), items))


@dataclasses.dataclass
class Signature:
    """One serving signature: its concrete function and its named input specs and output names."""

    function: object
    inputs: dict
    outputs: tuple

    @property
    def batched(self):
        """Whether every input has a leading batch dimension (then requests may be batched together)."""
        return all(spec.shape.rank and spec.shape[0] is None for spec in self.inputs.values())

    @functools.cached_property
    def specs(self):
        """{input name: InputSpec}: the inputs' shapes and dtypes as request_parsing takes them."""
        return {name: InputSpec(tuple(spec.shape.as_list()), spec.dtype.name) for name, spec in self.inputs.items()}


@dataclasses.dataclass
class Servable:
    """One loaded artifact: its SavedModel's signatures, card, figures and (for encoders) the latent directions its
    card holds."""

    name: str
    path: Path
    loaded: object
    signatures: dict
    signature_defs: dict
    card: dict
    figures: dict
    latent: dict = None

    def data_input(self):
        """{"name", "shape", "accepts"} of the data the model takes (images [H, W, C] or rows [d], one of them, without
        the batch dimension), read from its signatures: the input of that name of the first of DATA_SIGNATURES to
        have one, else (a GAN) what its sample or generate signature gives; None for a model of other data (AutoRec's
        ratings). "accepts" is the shape its signatures take, "shape" the model's own: they differ for a model that
        resizes images of any height and width ([None, None, C]) to its own (`own_shape`).
        """
        for name in DATA_SIGNATURES:
            inputs = self.signatures[name].inputs if name in self.signatures else {}
            for input_name, spec in inputs.items():
                if input_name in DATA_NAMES and spec.shape.rank and spec.shape[0] is None:
                    accepts = spec.shape.as_list()[1:]
                    return {"name": input_name, "shape": self.own_shape(accepts) or accepts, "accepts": accepts}
        for name in ("sample", "generate"):
            signature = self.signatures.get(name)
            outputs = signature.function.structured_outputs if signature else {}
            for output_name in DATA_NAMES:
                spec = outputs.get(output_name)
                if spec is not None and spec.shape.rank and None not in spec.shape.as_list()[1:]:
                    return {"name": output_name, "shape": spec.shape.as_list()[1:], "accepts": spec.shape.as_list()[1:]}
        return None

    def own_shape(self, accepts):
        """The fully known shape of the model's own inputs that match `accepts` (None for a side of any size): the
        shape itself if known, else the first such shape of its signatures' outputs (a reconstruction, a sample),
        else its card's input_shape; None if none says."""
        def matches(shape):
            return (isinstance(shape, list) and len(shape) == len(accepts) and all(
                isinstance(side, int) and side > 0 and want in (None, side) for side, want in zip(shape, accepts)))

        if None not in accepts:
            return accepts
        for signature in self.signatures.values():
            for spec in tf.nest.flatten(signature.function.structured_outputs):
                if spec.shape.rank and spec.shape[0] is None and matches(spec.shape.as_list()[1:]):
                    return spec.shape.as_list()[1:]
        card = self.card.get("data") if isinstance(self.card.get("data"), dict) else {}
        return card.get("input_shape") if matches(card.get("input_shape")) else None

    def data(self):
        """The data the model takes, as the page reads it: `data_input`'s name, shape and accepted shape, its kind
        ("images" for [H, W] or [H, W, C] with C = 1, 3 or 4 of known sides, "table" for rows [d], else "other"), the
        card's dataset, its
        preprocessing and, for a table, its columns (the card's, where they are as many strings as the row has
        values, else null); None for a model of other data."""
        found = self.data_input()
        if found is None:
            return None
        shape = found["shape"]
        card = self.card.get("data") if isinstance(self.card.get("data"), dict) else {}
        kind = ("table" if len(shape) == 1 else
                "images" if None not in shape and (len(shape) == 2 or (len(shape) == 3 and shape[2] in (1, 3, 4)))
                else "other")
        columns = card.get("columns")
        usable = (kind == "table" and isinstance(columns, list) and len(columns) == shape[0]
                  and all(isinstance(column, str) for column in columns))
        dataset, preprocessing = (card.get(key) for key in ("dataset", "preprocessing"))
        return {**found, "kind": kind, "dataset": dataset if isinstance(dataset, str) else None,
                "preprocessing": preprocessing if isinstance(preprocessing, str) else None,
                "columns": columns if usable else None}

    def code_size(self):
        """Units of the code its decode (or generate) signature takes, or None."""
        for name in ("decode", "generate"):
            code = self.signatures[name].inputs.get("code") if name in self.signatures else None
            if code is not None:
                return code.shape[1]
        return None

    @property
    def specs(self):
        """{signature name: {input name: InputSpec}}, for request_parsing."""
        return {name: signature.specs for name, signature in self.signatures.items()}

    def summary(self):
        card = self.card
        metrics = {name: entry["value"] for name, entry in card.get("metrics", {}).items()}
        return {
            "name": self.name,
            "model": card.get("model"),
            "description": card.get("description", ""),
            "command": card.get("command"),
            "signatures": {name: {input_name: shape_text(spec.shape.as_list()) for input_name, spec in sig.inputs.items()}
                           for name, sig in self.signatures.items()},
            "metrics": {name: metrics[name] for name in KEY_METRICS if name in metrics},
            "nll_importance_samples": metrics.get("nll_importance_samples"),
            "data": self.data(),
            "code_size": self.code_size(),
            "code": card.get("code", {}).get("what"),
            "parameters": card.get("parameters"),
            "anomaly": card.get("anomaly"),
            "figures": [f"/v1/models/{quote(self.name, safe='')}/figures/{quote(figure, safe='')}"
                        for figure in sorted(self.figures)],
            "latent": self.latent is not None,
        }


def signature_defs(path):
    """{name: SignatureDef as TF Serving's metadata JSON writes it} from the SavedModel's saved_model.pb."""
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((path / "saved_model.pb").read_bytes())
    defs = saved.meta_graphs[0].signature_def
    return {name: json_format.MessageToDict(defs[name], preserving_proto_field_name=True)
            for name in sorted(defs) if not name.startswith("__")}


def warm_up(signature):
    """Calls a signature once on the smallest valid input (one row of zeros, a count of 1), so that the first
    request does not pay for the graph's first run."""
    args = {}
    for name, spec in signature.inputs.items():
        if spec.shape.rank:
            args[name] = tf.zeros([1 if size is None else size for size in spec.shape.as_list()], spec.dtype)
        else:
            args[name] = tf.constant(1 if name == "num" else 0, spec.dtype)
    signature.function(**args)


def latent_entry(card, signatures):
    """(the card's "latent" entry, or None; why it is not used, or None). An entry is used if it is the shape
    zoo.latent.card_entry writes, for a code of the size the decode signature takes."""
    entry = card.get("latent")
    if entry is None:
        return None, None
    why = fault(entry, LATENT_ENTRY)
    code = signatures["decode"].inputs.get("code") if "decode" in signatures else None
    if not why and (code is None or entry["code_size"] != code.shape[-1] or len(entry["mean"]) != entry["code_size"]
                    or any(len(direction) != entry["code_size"] for direction in entry["directions"])):
        why = "its mean and directions are not of the size of the code its decode signature takes"
    return (None, why) if why else (entry, None)


def load_servable(path, log=print):
    """The Servable of the artifact in `path`; its latent directions are its card's (`latent_entry`)."""
    loaded = zoo.load_saved_model(path)
    signatures = {}
    for name, function in loaded.signatures.items():
        _, specs = function.structured_input_signature
        signatures[name] = Signature(function, dict(specs), tuple(sorted(function.structured_outputs)))
        warm_up(signatures[name])
    card = zoo.card(path) if (path / "card.json").exists() else {}  # a SavedModel from elsewhere may have none
    figures = {figure.name: figure for figure in sorted(path.glob("*.png"))}
    latent, why = latent_entry(card, signatures)
    if why:
        log(f"{path.name}: latent explorer off: the card's \"latent\" entry is not usable ({why})")
    return Servable(path.name, path, loaded, signatures, signature_defs(path), card, figures, latent)


def load_all(models_dir, log=print):
    """{name: Servable} for every subdirectory of `models_dir` holding a saved_model.pb."""
    paths = sorted(path.parent for path in Path(models_dir).glob("*/saved_model.pb"))
    if not paths:
        raise ZooError(f"no SavedModel found in the subdirectories of {models_dir}")
    servables = {}
    for path in paths:
        servables[path.name] = load_servable(path, log)
        log(f"loaded {path.name}: {', '.join(sorted(servables[path.name].signatures))}")
    return servables


def call_signature(signature, inputs):
    """{output name: numpy array} of the signature on the inputs; RequestError with the endpoint's message if its
    input checks refuse them."""
    try:
        outputs = signature.function(**{name: tf.constant(value) for name, value in inputs.items()})
    except tf.errors.InvalidArgumentError as error:
        raise RequestError(endpoint_message(error)) from None
    return {name: outputs[name].numpy() for name in signature.outputs}


