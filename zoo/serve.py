"""Serve the zoo: every artifact over TensorFlow Serving's REST API, and a page to explore them in a browser.

    python -m zoo.serve [--models saved_models] [--host 127.0.0.1] [--port 8501] [--data-dir DIR]

TensorFlow Serving's REST API as its documentation writes it (a client written for TF Serving works unchanged):
  GET  /v1/models/{name}[/versions/1]             status
  GET  /v1/models/{name}[/versions/1]/metadata    signatures, read from the SavedModel
  POST /v1/models/{name}[/versions/1]:predict     {"signature_name": ..., "instances": [...]} -> {"predictions"}
                                                  {"signature_name": ..., "inputs": {...}}    -> {"outputs"}
The zoo adds GET /v1/models (every artifact with its card's key numbers), each artifact's figures and the two
leading principal directions of its test codes (for the page's latent explorer), and the page itself at /.

The flags are parsed before TensorFlow starts; the server itself is zoo.server.
"""

import dataclasses

from zoo import cli, flags
from zoo.flags import flag

DEFAULT_PORT = 8501  # TensorFlow Serving's REST port


def host_name(name, value):
    if not value or any(c.isspace() for c in value) or "/" in value:
        return f"{name} takes a host name or IP address to bind to (e.g. 127.0.0.1); received {name}={value!r}"


@dataclasses.dataclass
class ServeConfig:
    """Flags of `python -m zoo.serve`."""

    models: str = flag("saved_models", "directory whose subdirectories are the SavedModels to serve",
                       flags.existing_dir)
    host: str = flag("127.0.0.1", "address to bind to (loopback by default; 0.0.0.0 opens it to the network)",
                     host_name)
    port: int = flag(DEFAULT_PORT, "port", flags.count(1, 65535))
    data_dir: str = flag(None, "MNIST IDX directory (else $ZOO_DATA_DIR) for the latent explorer's principal "
                               "directions; without it the page's latent explorer is off", flags.existing_dir)
    max_body_mb: int = flag(16, "largest request body accepted, in MB", flags.count(1, 1024))
    max_batch: int = flag(1024, "most rows one predict request may hold", flags.count(1, 100_000))
    batching: bool = flag(True, "run predict requests that queue up for the same signature as one batch")


def main(argv=None):
    settings = flags.parse(ServeConfig, argv, prog="python -m zoo.serve", description=__doc__)
    from zoo import server  # imports TensorFlow: only once the flags are known to be good

    server.run(settings)


if __name__ == "__main__":
    cli.run_main(main)
