"""The model server against hostile clients, on the wire: one real `python -m zoo.serve` (two artifacts linked into
a directory of their own, short timeouts, one allowed origin) spoken to through http.client and raw sockets, and
`python -m zoo.serve` on a port already taken."""

import http.client
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_python
from zoo import cluster, serve

HEADER_TIMEOUT_S, BODY_TIMEOUT_S, KEEP_ALIVE_S = 1, 2, 1
ALLOWED_ORIGIN = "http://allowed.example:3000"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    for name in ("vae_mnist", "cvae_mnist"):
        (models / name).symlink_to(ROOT / "saved_models" / name)
    args = ["--models", str(models), "--header-timeout-s", str(HEADER_TIMEOUT_S), "--body-timeout-s",
            str(BODY_TIMEOUT_S), "--keep-alive-s", str(KEEP_ALIVE_S), "--allow-origin", ALLOWED_ORIGIN]
    server = serve.ServerProcess(args, tmp_path_factory.mktemp("server") / "server.log")
    try:
        yield server
        assert server.process.poll() is None, f"the server died:\n{server.log.read_text()[-3000:]}"
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text(), server.log.read_text()[-3000:]


def call(served, method, path, body=None, headers=None):
    """(status, headers, body: decoded if JSON) of one request on a connection of its own."""
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
    try:
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        body = response.read()
        return response.status, dict(response.getheaders()), (
            json.loads(body) if response.getheader("content-type") == "application/json" else body)
    finally:
        connection.close()


def raw_connection(served):
    return socket.create_connection(("127.0.0.1", served.port), timeout=30)


def predict_headers(length):
    return (f"POST /v1/models/vae_mnist:predict HTTP/1.1\r\nHost: 127.0.0.1:8501\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n").encode()


DEEP = "[" * 2000 + "]" * 2000


@pytest.mark.parametrize("body", [
    DEEP, '{"instances": ' + DEEP + "}", '{"a":' * 2000 + "1" + "}" * 2000, b"\xff\xfe\x00", "",
    '{"instances": ' + "[" * 70 + "0" + "]" * 70 + "}", '{"inputs": {"images": [[1, [2]]]}}',
])
def test_every_malformed_body_gets_a_400_with_a_json_error(served, body):
    status, _, answer = call(served, "POST", "/v1/models/vae_mnist:predict", body)
    assert status == 400 and answer["error"], answer


def test_a_client_gone_mid_body_leaves_no_traceback(served):
    logged = len(served.log.read_text())
    with raw_connection(served) as connection:
        connection.sendall(predict_headers(1_000_000) + b'{"inputs": [' + b"0, " * 10_000)
    time.sleep(1)  # the server notices the closed connection
    assert call(served, "GET", "/v1/models/vae_mnist")[0] == 200
    added = served.log.read_text()[logged:]
    assert "Traceback" not in added and len(added.splitlines()) <= 1, added


def test_a_16_mb_body_being_parsed_does_not_hold_up_other_requests(served):
    # 4M one-element lists in one row: seconds of JSON parsing and array conversion, then refused for its shape
    body = b'{"inputs": {"images": [[' + b"[0]," * (4 * 2**20 - 20) + b"[0]]]}}"
    assert 15 * 2**20 < len(body) <= 16 * 2**20
    answer = {}
    poster = threading.Thread(target=lambda: answer.update(
        zip(("status", "headers", "body"), call(served, "POST", "/v1/models/vae_mnist:predict", body))))
    poster.start()
    time.sleep(0.5)  # the body is sent (loopback) and being parsed
    latencies = []
    while poster.is_alive() and len(latencies) < 10:
        start = time.perf_counter()
        assert call(served, "GET", "/v1/models/vae_mnist")[0] == 200
        latencies.append(time.perf_counter() - start)
        time.sleep(0.1)
    still_parsing = poster.is_alive()
    poster.join()
    assert sorted(latencies)[len(latencies) // 2] < 0.1 and max(latencies) < 1, latencies
    assert still_parsing and len(latencies) >= 3, f"the body was parsed too fast to tell: {latencies}"
    assert answer["status"] == 400 and "must have shape" in answer["body"]["error"], answer


@pytest.mark.parametrize("path", ["/v1/models/vae_mnist:classify", "/v1/models/vae_mnist:regress",
                                  "/v1/models/vae_mnist/versions/1:classify", "/v1/models/vae_mnist:explode"])
def test_other_tf_serving_methods_are_refused_with_a_json_400(served, path):
    status, _, answer = call(served, "POST", path, '{"instances": [1.0]}')
    assert status == 400 and ":predict only" in answer["error"], answer


@pytest.mark.parametrize("signature, inputs, words", [
    ("sample", {"num": 2, "seed": 1, "digit": 12}, "digits must be in 0..9; found 12"),
    ("reconstruct", {"images": [[[[0.0]] * 28] * 28], "digits": [-1]}, "digits must be in 0..9; found -1"),
    ("serving_default", {"images": [[[[0.0]] * 28] * 28], "digits": [12]}, "digits must be in 0..9; found 12"),
    ("encode", {"images": [[[[0.0]] * 28] * 28] * 2, "digits": [10, -3]}, "digits must be in 0..9; found 10 -3"),
    ("decode", {"code": [[0.0] * 32] * 2, "digits": [1, 2, 3]},
     "digits must give one digit per row, or a single digit for every row; received 3 digits for 2 rows"),
])
def test_the_cvae_endpoints_own_assertions_reach_the_client(served, signature, inputs, words):
    status, _, answer = call(served, "POST", "/v1/models/cvae_mnist:predict",
                             json.dumps({"signature_name": signature, "inputs": inputs}))
    assert status == 400 and answer["error"] == words, answer


def seconds_until_closed(connection, send=b"", trickle=None, limit=15):
    """Seconds until the server closes `connection` after `send` (then each of `trickle`, a byte every 0.25 s), and
    what it answered; `limit` if it is still open then."""
    start = time.monotonic()
    connection.sendall(send)
    connection.settimeout(0.25)
    answer, pending = b"", list(trickle or b"")
    while time.monotonic() - start < limit:
        try:
            data = connection.recv(65536)
        except TimeoutError:
            if pending:
                connection.sendall(bytes([pending.pop(0)]))
            continue
        except ConnectionResetError:
            data = b""
        if not data:
            return time.monotonic() - start, answer
        answer += data
    return limit, answer


def test_a_connection_that_sends_nothing_is_closed(served):
    with raw_connection(served) as connection:
        seconds, answer = seconds_until_closed(connection)
    assert seconds < HEADER_TIMEOUT_S + 2 and answer == b""


def test_request_headers_that_never_end_are_cut_off(served):
    with raw_connection(served) as connection:
        seconds, _ = seconds_until_closed(connection, b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                                          trickle=b"X-Slow: " + b"a" * 100)
    assert seconds < HEADER_TIMEOUT_S + 2


@pytest.mark.parametrize("trickle", [b"", b"0, " * 100], ids=["stalled", "trickling"])
def test_a_slow_body_gets_a_408_and_the_connection_closed(served, trickle):
    with raw_connection(served) as connection:
        seconds, answer = seconds_until_closed(connection, predict_headers(1000) + b'{"inputs": [', trickle)
    assert seconds < BODY_TIMEOUT_S + 2, answer
    assert answer.startswith(b"HTTP/1.1 408 ") and b'"error":"the request body did not arrive within' in answer


@pytest.mark.parametrize("path", ["/v1/models/vae_mnist:classify", "/v1/models/nope:predict", "/v1/models"])
def test_an_answer_given_before_the_body_is_read_closes_the_connection(served, path):
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n".encode()
    with raw_connection(served) as connection:
        seconds, answer = seconds_until_closed(connection, head + b"{", trickle=b" " * 100)
    assert seconds < 3 and answer.startswith((b"HTTP/1.1 400 ", b"HTTP/1.1 404 ", b"HTTP/1.1 405 ")), answer


def test_an_idle_kept_alive_connection_is_closed(served):
    with raw_connection(served) as connection:
        seconds, answer = seconds_until_closed(connection, b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert seconds < KEEP_ALIVE_S + 2 and answer.startswith(b"HTTP/1.1 200 ")


def test_a_client_that_stops_reading_its_answer_is_dropped(served):
    body = json.dumps({"signature_name": "decode", "inputs": {"code": [[0.5] * 32] * 1024}}).encode()  # ~10 MB out
    with socket.socket() as connection:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        connection.connect(("127.0.0.1", served.port))
        connection.sendall((predict_headers(len(body)) + body) * 2)  # the second answer queues behind the first
        time.sleep(2 * KEEP_ALIVE_S + 2)  # nothing read for two keep-alive periods
        connection.settimeout(5)
        received = 0
        try:
            while chunk := connection.recv(2**20):
                received += len(chunk)
        except ConnectionResetError:
            pass
    assert received < 5 * 2**20


def serve_on_a_taken_port(host, tmp_path):
    """`python -m zoo.serve --host HOST` on a port this process holds (on 127.0.0.1): the CompletedProcess and the
    port."""
    (tmp_path / "vae_mnist").symlink_to(ROOT / "saved_models" / "vae_mnist")
    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        result = run_python(["-m", "zoo.serve", "--models", str(tmp_path), "--host", host, "--port", str(port)],
                            timeout=120)
    return result, port


def test_a_taken_port_is_one_error_line_and_exit_1(tmp_path):
    result, port = serve_on_a_taken_port("127.0.0.1", tmp_path)
    assert result.returncode == 1 and "serving" not in result.stdout, result.stdout
    assert result.stderr.splitlines() == [f"error: cannot serve on 127.0.0.1:{port}: Address already in use"]


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("LocalHost", True), ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("example.com", False)])
def test_only_loopback_hosts_count_as_local(host, loopback):
    assert cluster.is_loopback(host) == loopback


def test_a_host_open_to_the_network_is_warned_about(tmp_path):
    result, port = serve_on_a_taken_port("0.0.0.0", tmp_path)
    assert result.stderr.splitlines() == [
        f"warning: --host 0.0.0.0 is not a loopback address: the models and the page are reachable from the network, "
        f"by anyone who can reach this machine on port {port}",
        f"error: cannot serve on 0.0.0.0:{port}: Address already in use"]


SAMPLE = json.dumps({"signature_name": "sample", "inputs": {"num": 1, "seed": 1}})


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example", "Content-Type": "text/plain"}, {"Origin": "null"},
    {"Origin": "http://localhost:8501"},  # another port of this machine is another origin
    {"Host": "evil.example:8501", "Origin": "http://evil.example:8501"},  # DNS rebinding: same-origin, foreign host
    {"Host": "evil.example"}])
def test_cross_site_requests_are_refused(served, headers):
    for method, path, body in [("POST", "/v1/models/vae_mnist:predict", SAMPLE), ("GET", "/v1/models", None),
                               ("OPTIONS", "/v1/models/vae_mnist:predict", None)]:
        status, _, answer = call(served, method, path, body, headers)
        assert status == 403 and "refused" in answer["error"], (method, answer)


def test_same_origin_and_originless_requests_are_served(served):
    own = f"127.0.0.1:{served.port}"
    for headers in [{}, {"Content-Type": "text/plain"}, {"Host": own, "Origin": f"http://{own}"},
                    {"Host": f"localhost:{served.port}", "Origin": f"http://localhost:{served.port}"},
                    {"Host": f"[::1]:{served.port}"}]:
        status, response_headers, answer = call(served, "POST", "/v1/models/vae_mnist:predict", SAMPLE, headers)
        assert status == 200 and len(answer["outputs"]) == 1, (headers, answer)
        assert "access-control-allow-origin" not in {name.lower() for name in response_headers}


def test_an_allowed_origin_gets_cors_headers_and_its_preflight_answered(served):
    origin = {"Origin": ALLOWED_ORIGIN}
    status, headers, answer = call(served, "POST", "/v1/models/vae_mnist:predict", SAMPLE,
                                   {**origin, "Content-Type": "application/json"})
    assert status == 200 and headers["access-control-allow-origin"] == ALLOWED_ORIGIN, (headers, answer)
    status, headers, _ = call(served, "OPTIONS", "/v1/models/vae_mnist:predict", None, {
        **origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert status == 200 and headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in headers["access-control-allow-methods"]
    assert "content-type" in headers["access-control-allow-headers"].lower()


def children_of(pid):
    """The pids of the live processes whose parent is `pid`."""
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat_file.parent.name))
    return found


def alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_parser_process_ends_when_the_server_is_killed(tmp_path):
    """A server killed with SIGKILL cannot stop its body-parsing process: it ends by itself instead of living on."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "vae_mnist").symlink_to(ROOT / "saved_models" / "vae_mnist")
    server = serve.ServerProcess(["--models", str(models)], tmp_path / "server.log")
    children = children_of(server.process.pid)
    assert children, "the server started no parser process"
    server.process.kill()
    server.process.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in children if alive(pid)]
    for pid in left:
        os.kill(pid, 9)
    assert not left, f"processes of the killed server still running: {left}"
