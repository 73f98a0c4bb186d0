"""Serve the zoo: every artifact over TensorFlow Serving's REST API, and a page to explore them in a browser.

    python -m zoo.serve [--models saved_models] [--host 127.0.0.1] [--port 8501]

TensorFlow Serving's REST API as its documentation writes it (a client written for TF Serving works unchanged):
  GET  /v1/models/{name}[/versions/1]             status
  GET  /v1/models/{name}[/versions/1]/metadata    signatures, read from the SavedModel
  POST /v1/models/{name}[/versions/1]:predict     {"signature_name": ..., "instances": [...]} -> {"predictions"}
                                                  {"signature_name": ..., "inputs": {...}}    -> {"outputs"}
  POST /v1/models/{name}[/versions/1]:classify    (and :regress) not served: a 400 naming :predict
The zoo adds GET /v1/models (every artifact with its card's key numbers), each artifact's figures and the two
leading principal directions of its test codes (for the page's latent explorer, read from its card, where export
wrote them), and the page itself at /. The server reads no training or test data.

The flags are parsed and the port is bound before TensorFlow starts (a taken port fails at once, in one line); the
server itself is zoo.server. A --host other than loopback is warned about: the models are then reachable from the
network. Browser pages of other origins are refused unless --allow-origin names them.
"""

import dataclasses
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from zoo import cli, cluster, flags
from zoo.errors import ZooError
from zoo.flags import flag

DEFAULT_PORT = 8501  # TensorFlow Serving's REST port


def host_name(name, value):
    if not value or any(c.isspace() for c in value) or "/" in value:
        return f"{name} takes a host name or IP address to bind to (e.g. 127.0.0.1); received {name}={value!r}"


def origins(name, values):
    for value in values:
        parts = urllib.parse.urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or value != f"{parts.scheme}://{parts.netloc}":
            return (f"{name} takes web origins, a scheme, host and port such as http://localhost:3000 (no path, no "
                    f"trailing slash); received {name}={value!r}")


@dataclasses.dataclass
class ServeConfig:
    """Flags of `python -m zoo.serve`."""

    models: str = flag("saved_models", "directory whose subdirectories are the SavedModels to serve",
                       flags.existing_dir)
    host: str = flag("127.0.0.1", "address to bind to (loopback by default; 0.0.0.0 opens it to the network)",
                     host_name)
    port: int = flag(DEFAULT_PORT, "port", flags.count(1, 65535))
    max_body_mb: int = flag(16, "largest request body accepted, in MB", flags.count(1, 1024))
    max_batch: int = flag(1024, "most rows one predict request may hold", flags.count(1, 100_000))
    batching: bool = flag(True, "run predict requests that queue up for the same signature as one batch")
    header_timeout_s: float = flag(10.0, "seconds a connection has to send a request's line and headers",
                                   flags.count(0.1, 3600))
    body_timeout_s: float = flag(30.0, "seconds a request has to send its body, once its headers are in (else 408)",
                                 flags.count(0.1, 3600))
    keep_alive_s: float = flag(5.0, "seconds a connection may stay idle between requests", flags.count(0.1, 3600))
    allow_origin: tuple = flag((), "web origins (e.g. http://localhost:3000) whose pages may call the server; "
                                   "pages of any other origin are refused", origins, type=str)


class ServerProcess:
    """`python -m zoo.serve ARGS --port P` in a process of its own on a free loopback port, its output in `log`;
    returns once the server answers GET /v1/models (or raises a ZooError with the log's end). For the browser
    tests and the HTTP benchmark."""

    START_TIMEOUT_S = 240

    def __init__(self, args, log):
        self.port, self.log = cluster.free_port(), Path(log)
        self.url = f"http://127.0.0.1:{self.port}"
        root = Path(__file__).resolve().parent.parent
        with open(self.log, "w") as output:
            self.process = subprocess.Popen([sys.executable, "-m", "zoo.serve", *args, "--port", str(self.port)],
                                            cwd=root, stdout=output, stderr=subprocess.STDOUT,
                                            env={**os.environ, "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "2"})
        deadline = time.monotonic() + self.START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise ZooError(f"the server exited with {self.process.returncode}: {self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise ZooError(f"the server did not answer within {self.START_TIMEOUT_S} s (log: {self.log})")
            try:
                with urllib.request.urlopen(f"{self.url}/v1/models", timeout=5):
                    return
            except OSError:
                time.sleep(0.5)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def bind(host, port):
    """A socket bound to host:port, not listening yet (connections are refused until the server is ready), or a
    ZooError saying why it cannot be."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, protocol)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as every server: a restart need not wait
            sock.bind(address)
        except OSError:
            sock.close()
            raise
    except OSError as error:
        raise ZooError(f"cannot serve on {host}:{port}: {error.strerror or error}") from None
    return sock


def main(argv=None):
    settings = flags.parse(ServeConfig, argv, prog="python -m zoo.serve", description=__doc__)
    if not cluster.is_loopback(settings.host):
        print(f"warning: --host {settings.host} is not a loopback address: the models and the page are reachable "
              f"from the network, by anyone who can reach this machine on port {settings.port}", file=sys.stderr)
    sock = bind(settings.host, settings.port)  # before TensorFlow and the models: a taken port fails at once
    from zoo import server  # imports TensorFlow: only once the flags are known to be good

    try:
        server.run(settings, sock)
    except KeyboardInterrupt:  # Ctrl-C: the server has nothing to save
        print("stopped", file=sys.stderr)


def console_main():
    """The console script of the installed package (pyproject.toml)."""
    cli.run_main(main)


if __name__ == "__main__":
    console_main()
