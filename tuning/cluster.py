"""Keras Tuner's chief/worker environment: checks of its variables before a search starts (no TensorFlow).

A search runs distributed when KERASTUNER_ORACLE_IP is set; then every process names itself in
KERASTUNER_TUNER_ID (chief, tuner0, tuner1, ...) and the chief serves the oracle on
KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT.
"""

import os
import socket


def cluster_error():
    """A message if Keras Tuner's chief/worker variables are incomplete, or if this process is the chief
    and cannot bind the oracle's port; else None."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return None
    ip, port = os.environ["KERASTUNER_ORACLE_IP"], os.environ.get("KERASTUNER_ORACLE_PORT", "")
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"KERASTUNER_ORACLE_PORT must be a port number in 1..65535; received {port!r}"
    role = os.environ.get("KERASTUNER_TUNER_ID", "")
    if not role:
        return "KERASTUNER_TUNER_ID must name this process: chief for the chief, tuner0, tuner1, ... for workers"
    if "chief" not in role:
        return None
    with socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET) as probe:
        try:
            probe.bind((ip, int(port)))
        except OSError as error:
            return (f"the chief cannot serve its oracle on {ip}:{port} ({error.strerror}); the port is in use "
                    "or the address is not this machine's: set KERASTUNER_ORACLE_PORT to a free port")
    return None


def tuner_id():
    """This process's tuner id, as Keras Tuner reads it (KERASTUNER_TUNER_ID, default tuner0)."""
    return os.environ.get("KERASTUNER_TUNER_ID", "tuner0")


def is_worker():
    """Whether this process is a worker of a chief/worker search (it leaves the results to the chief)."""
    role = os.environ.get("KERASTUNER_TUNER_ID", "")
    return bool(role) and "chief" not in role and "KERASTUNER_ORACLE_IP" in os.environ
