"""The cluster of a multi-worker run, read from TF_CONFIG exactly as TensorFlow's multi-worker guide writes it:

    TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'

No TensorFlow here: `--strategy multi_worker` checks TF_CONFIG while parsing the flags, so that a bad one is one
line and exit status 2 before TensorFlow starts (and before any worker waits for the others). Also how a worker
process stops (`watch_signals`, `peers_awaited`, `on_stop`: SIGTERM, Ctrl-C and peers that never come end it in one
line), its own scratch directory (`make_worker_dir`, `remove_orphaned_worker_dirs`), and the two loopback helpers
of the servers and tests: `free_port` and `is_loopback`.
"""

import atexit
import contextlib
import faulthandler
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

from zoo.errors import ZooError
from zoo.files import process_alive

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

    @property
    def name(self):
        return f"{self.type} {self.index}"

    @property
    def names(self):
        """Every task that trains, in the order of their numbers."""
        return [f"{kind} {index}" for kind in TASK_TYPES for index in range(len(self.cluster.get(kind, ())))]

    @property
    def peers(self):
        """(name, address) of every other task that trains."""
        return [(f"{kind} {index}", address) for kind in TASK_TYPES
                for index, address in enumerate(self.cluster.get(kind, ())) if (kind, index) != (self.type, self.index)]


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


# How a worker process stops. TensorFlow's MultiWorkerMirroredStrategy waits in C++ for the other workers (its
# coordination service: an hour by default) while holding the GIL, so that no Python thread runs (a watchdog thread
# of ours never woke), and it installs a SIGTERM handler of its own (the preemption notifier, which only records the
# signal). A worker started alone printed nothing, ran on, and ignored SIGTERM and Ctrl-C. So:
# - `await_peers` waits in Python, before TensorFlow's wait, until every other task has started (listens at its
#   address), and stops with one line naming those that did not within --worker-timeout;
# - `bounded` ends TensorFlow's wait that follows, should a task die in between: faulthandler's timer is a thread of
#   C, which runs while the GIL is held (its last words are where each thread was, and the status is 1);
# - `watch_signals` blocks SIGTERM and SIGINT in every thread before TensorFlow starts (threads inherit the mask, so
#   TensorFlow's handler is never called), and one thread of ours takes them with sigwait: it runs the `on_stop`
#   cleanups, prints one line and leaves with os._exit, since the main thread may be inside TensorFlow.
# (TensorFlow's own bound, CoordinationServiceConfig.cluster_register_timeout_in_ms, is reachable only through its
# private eager context, and set to 15 s it did not end the chief's wait within 100 s: TF 2.21.)
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class _Watcher:
    lock = threading.Lock()
    thread = None
    cleanups = []
    terminal = 2  # where the last line goes (zoo.cli points it past its filter of stderr, a Python thread)


def set_terminal(fd):
    """Sends the watcher's last line, and `bounded`'s, to file descriptor `fd`."""
    _Watcher.terminal = fd


def thread_without_stop_signals(target):
    """Starts a daemon thread running `target` that never receives SIGTERM or SIGINT (the main thread, or the
    watcher, does); returns it."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return thread


def watch_signals():
    """SIGTERM and SIGINT end this process from now on in one line, after the `on_stop` cleanups, whatever TensorFlow
    is doing. Call it in the main thread before TensorFlow starts (zoo.cli does for --strategy multi_worker): only
    threads started afterwards inherit the blocked signals."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    with _Watcher.lock:
        if _Watcher.thread is None:
            _Watcher.thread = thread_without_stop_signals(_watch)


def _watch():
    received = signal.sigwait(STOP_SIGNALS)
    how = "interrupted" if received == signal.SIGINT else "stopped by SIGTERM"
    for cleanup in reversed(_Watcher.cleanups):
        with contextlib.suppress(Exception):  # one failing must not keep the others or the exit from running
            cleanup()
    flushing = threading.Thread(target=_flush, daemon=True)  # not forever: the main thread may hold a stream's lock
    flushing.start()
    flushing.join(timeout=1)
    with contextlib.suppress(OSError):
        os.write(_Watcher.terminal, f"{how}: the last finished epoch is checkpointed; restart every worker with the "
                                    "same command to resume\n".encode())
    os._exit(130 if received == signal.SIGINT else 128 + signal.SIGTERM)


def _flush():
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def on_stop(cleanup):
    """Runs `cleanup()` if the watcher ends this process on a signal."""
    _Watcher.cleanups.append(cleanup)


def await_peers(task, seconds, poll=0.2):
    """Returns once every other task of the cluster listens at its address (it has started: it waits here too, or in
    TensorFlow), listening at this task's address meanwhile so that the others see this one; a ZooError naming the
    tasks that did not start if that takes longer than `seconds`."""
    port = int(task.address.rpartition(":")[2])
    dual = socket.has_dualstack_ipv6()  # as TensorFlow's server listens: on IPv6 and IPv4 where it can
    try:
        lobby = socket.create_server(("", port), family=socket.AF_INET6 if dual else socket.AF_INET, backlog=64,
                                     dualstack_ipv6=dual)
    except OSError as error:
        raise ZooError(f"{task.name} cannot listen at its address {task.address} ({error.strerror}): give it a free "
                       f"port in {ENV}") from None
    lobby.setblocking(False)
    missing, start = dict(task.peers), time.monotonic()
    with lobby:
        while True:
            missing = {name: address for name, address in missing.items() if not _listens(address)}
            while True:  # the others' probes: answered, and closed
                try:
                    lobby.accept()[0].close()
                except BlockingIOError:
                    break
            if not missing:
                return
            if time.monotonic() - start >= seconds:
                never = ", ".join(f"{name} at {address}" for name, address in missing.items())
                raise ZooError(f"{task.name} waited {seconds} s (--worker-timeout {seconds}) for the other workers of "
                               f"{ENV}'s cluster; these have not started (nothing listens at their addresses): {never}; "
                               "start the same command on every worker, each within --worker-timeout seconds of the "
                               "others")
            time.sleep(poll)


def _listens(address, timeout=0.5):
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def bounded(seconds):
    """Ends this process with status 1, writing where each thread was, if the body takes longer than `seconds`."""
    faulthandler.dump_traceback_later(seconds, exit=True, file=_Watcher.terminal)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


# A worker's scratch directory (non-chief workers write their checkpoints and logs, or copy the chief's output dir,
# there): zoo-worker-<number>-pid<pid>-<tempfile's 8 characters>, removed at the end, at exit, on a signal, and, when
# its process was killed outright, by the next worker that starts on this machine.
WORKER_DIR = re.compile(r"zoo-worker-[0-9]+-pid([0-9]+)-[a-z0-9_]{8}")


def make_worker_dir(number):
    """A new scratch directory of worker `number` in the temporary directory, named for this process; removed when the
    process exits (normally, by an exception, or by the watcher)."""
    path = tempfile.mkdtemp(prefix=f"zoo-worker-{number}-pid{os.getpid()}-")

    def remove():
        shutil.rmtree(path, ignore_errors=True)

    atexit.register(remove)
    on_stop(remove)
    return path


def remove_orphaned_worker_dirs(parent=None):
    """Removes the scratch directories (WORKER_DIR, exactly) in `parent` (default: the temporary directory) whose
    process is gone: real directories, not symlinks, of this user; returns their paths."""
    removed = []
    with os.scandir(parent or tempfile.gettempdir()) as entries:
        for entry in entries:
            match = WORKER_DIR.fullmatch(entry.name)
            if (match and entry.is_dir(follow_symlinks=False)
                    and entry.stat(follow_symlinks=False).st_uid == os.getuid() and not process_alive(int(match[1]))):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.path)
    return removed
