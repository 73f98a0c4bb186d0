"""The cluster of a multi-worker run, read from TF_CONFIG exactly as TensorFlow's multi-worker guide writes it:

    TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'

No TensorFlow here: `--strategy multi_worker` checks TF_CONFIG while parsing the flags, so that a bad one is one
line and exit status 2 before TensorFlow starts (and before any worker waits for the others). Also the two loopback
helpers of the servers and tests: `free_port` and `is_loopback`.
"""

import ipaddress
import json
import os
import re
import socket
from dataclasses import dataclass

ENV = "TF_CONFIG"
TASK_TYPES = ("chief", "worker")  # the task types that train; MultiWorkerMirroredStrategy knows no others
EXAMPLE = ('{"cluster": {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]}, '
           '"task": {"type": "worker", "index": 0}}')


@dataclass(frozen=True)
class Task:
    """This process's place in the cluster: its task type and index, and every task's address."""

    type: str
    index: int
    cluster: dict

    @property
    def is_chief(self):
        """The chief writes checkpoints, logs, figures and the export: the "chief" task, or worker 0 without one."""
        return self.type == "chief" or (self.type == "worker" and self.index == 0 and "chief" not in self.cluster)

    @property
    def number(self):
        """A number for this task among all that train, the chief's 0: a directory name for what others write."""
        return 0 if self.type == "chief" else self.index + len(self.cluster.get("chief", ()))

    @property
    def workers(self):
        return sum(len(self.cluster.get(kind, ())) for kind in TASK_TYPES)

    @property
    def address(self):
        return self.cluster[self.type][self.index]


class ClusterError(ValueError):
    """TF_CONFIG is missing or does not describe a cluster this process can train in."""


# A port in ASCII digits: str.isdigit and int() also take other scripts' digits ("١٢٣٤٥") and superscripts ("²"),
# which TensorFlow's gRPC server then fails on.
PORT = re.compile(r"[0-9]{1,5}")


def _check_address(kind, index, address):
    host, _, port = str(address).rpartition(":")
    if not (isinstance(address, str) and host.isascii() and host.isprintable() and " " not in host
            and PORT.fullmatch(port) and 0 < int(port) < 65536):
        raise ClusterError(f"TF_CONFIG's cluster.{kind}[{index}] must be \"host:port\" (ASCII, the port in digits "
                           f"0-9, 1..65535); received {address!r}")


def read(environ=None):
    """The Task that TF_CONFIG in `environ` (default os.environ) describes; ClusterError says what is wrong."""
    environ = os.environ if environ is None else environ
    text = environ.get(ENV)
    if not text:
        raise ClusterError(f"--strategy multi_worker needs the environment variable {ENV} (the cluster and this "
                           f"process's task, as in TensorFlow's multi-worker guide), e.g. {ENV}='{EXAMPLE}'")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ClusterError(f"{ENV} is not valid JSON ({error}); received {text[:200]!r}") from None
    cluster, task = (config.get("cluster"), config.get("task")) if isinstance(config, dict) else (None, None)
    if not isinstance(cluster, dict) or not cluster:
        raise ClusterError(f"{ENV} needs a \"cluster\" object of task lists, e.g. {EXAMPLE}; received {text[:200]!r}")
    unknown = sorted(set(cluster) - set(TASK_TYPES))
    if unknown or not cluster.get("worker") and not cluster.get("chief"):
        raise ClusterError(f"{ENV}'s cluster may list \"chief\" (at most one) and \"worker\" tasks; received "
                           f"{sorted(cluster)}")
    for kind, addresses in cluster.items():
        if not isinstance(addresses, list):
            raise ClusterError(f"{ENV}'s cluster.{kind} must be a list of \"host:port\"; received {addresses!r}")
        for index, address in enumerate(addresses):
            _check_address(kind, index, address)
    if len(cluster.get("chief", ())) > 1:
        raise ClusterError(f"{ENV}'s cluster lists {len(cluster['chief'])} chiefs; at most one is allowed")
    every = [address for addresses in cluster.values() for address in addresses]
    if len(set(every)) != len(every):
        raise ClusterError(f"{ENV}'s cluster lists an address twice: {every}")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ClusterError(f"{ENV} needs a \"task\" with this process's \"type\" and \"index\", e.g. "
                           f"{{\"type\": \"worker\", \"index\": 0}}; received {task!r}")
    kind, index = task["type"], task["index"]
    if kind not in cluster:
        raise ClusterError(f"{ENV}'s task type {kind!r} is not in the cluster, which has {sorted(cluster)}")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(cluster[kind]):
        raise ClusterError(f"{ENV}'s task index must be in 0..{len(cluster[kind]) - 1} (cluster.{kind} lists "
                           f"{len(cluster[kind])}); received {index!r}")
    return Task(kind, index, cluster)


def port_in_use(address):
    """True if another process listens on `address`'s port here (TensorFlow's server would fail to bind it)."""
    port = int(address.rpartition(":")[2])
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("", port))
        except OSError:
            return True
    return False


def problem(environ=None):
    """What is wrong with TF_CONFIG for a multi-worker run of this process (one line), or None."""
    try:
        task = read(environ)
    except ClusterError as error:
        return str(error)
    if port_in_use(task.address):
        return (f"{ENV} gives this process ({task.type} {task.index}) the address {task.address}, whose port "
                f"another process is using; stop it or give this task a free port")
    return None


def free_port():
    """A TCP port on 127.0.0.1 that is free now (for a server, a tuning oracle or a test to bind next)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def local_cluster(workers):
    """TF_CONFIG texts for `workers` worker processes on 127.0.0.1 (on ports free now), the i-th for worker i: a
    cluster of one machine, for trying a multi-worker run and for the tests."""
    probes = [socket.socket() for _ in range(workers)]
    for probe in probes:
        probe.bind(("127.0.0.1", 0))
    addresses = [f"127.0.0.1:{probe.getsockname()[1]}" for probe in probes]
    for probe in probes:
        probe.close()
    return [json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}})
            for index in range(workers)]


def is_loopback(host):
    """Whether `host` names this machine only: localhost, an address in 127.0.0.0/8, or ::1."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False
