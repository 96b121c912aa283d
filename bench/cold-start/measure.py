#!/usr/bin/env python3
"""Measures the cold start of each Lambda function against a loopback
Lambda Runtime API, next to a hello-world function on the same runtime.

Each run starts a new process of a function's binary with
AWS_LAMBDA_RUNTIME_API pointing at this script's server. The clock runs from
the process start to the POST of the first event's response. The process
then gets the same event a few more times (warm invocations), and its peak
resident set size is read. Every AWS endpoint the functions call (Secrets
Manager, DynamoDB) is a moto server on 127.0.0.1.

bench/cold-start/run builds the binaries and calls this script; README.md
beside it describes the method and its limits.
"""

import argparse
import http.client
import http.server
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REGION = "eu-central-1"
PUBLIC_URL = "https://video.example.test"
RUN_TIMEOUT_SECONDS = 30
FUNCTIONS = ["hello", "rooms-api", "signaling", "web", "daily-emailer"]
# Memory sizes from infra/template.yaml. The runtime only reads the value.
MEMORY_MB = {"web": "128"}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, process, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with code {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"moto_server did not listen on port {port} within {seconds} s")


def create_aws_resources(endpoint):
    """Creates the tables and secrets the functions read at start, in moto."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    )
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    secrets = session.client("secretsmanager", endpoint_url=endpoint)

    # The layout of video_core::store::dynamodb, as tests/rust/aws.rs creates it.
    def index(name, hash_key, range_key):
        return {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": hash_key, "KeyType": "HASH"},
                {"AttributeName": range_key, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }

    attributes = [("id", "S"), ("practitionerId", "S"), ("dateKey", "S"), ("mailDate", "S"),
                  ("dayStart", "N"), ("eraseDate", "S"), ("dayEnd", "N")]
    dynamodb.create_table(
        TableName="rooms",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in attributes],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            index("byPractitioner", "practitionerId", "dateKey"),
            index("byMailDate", "mailDate", "dayStart"),
            index("byEraseDate", "eraseDate", "dayEnd"),
        ],
    )
    dynamodb.create_table(
        TableName="connections",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    link_key = secrets.create_secret(Name="link-key", SecretString=os.urandom(32).hex())
    turn = secrets.create_secret(Name="turn-secret", SecretString=os.urandom(24).hex())
    return link_key["ARN"], turn["ARN"]


def http_api_event(path):
    """Builds an API Gateway HTTP API (payload 2.0) GET event, as the JWT
    authorizer passes it on."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "api1.execute-api.eu-central-1.amazonaws.com",
                    "accept": "application/json"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api1",
            "authorizer": {"jwt": {"claims": {"sub": "practitioner-1"}, "scopes": None}},
            "domainName": "api1.execute-api.eu-central-1.amazonaws.com",
            "domainPrefix": "api1",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "bench"},
            "requestId": "request-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "04/Dec/2026:10:00:00 +0000",
            "timeEpoch": 1796378400000,
        },
        "isBase64Encoded": False,
    }


def websocket_connect_event():
    return {
        "headers": {"Origin": PUBLIC_URL},
        "requestContext": {
            "routeKey": "$connect",
            "eventType": "CONNECT",
            "extendedRequestId": "ext-1",
            "requestTime": "04/Dec/2026:10:00:00 +0000",
            "messageDirection": "IN",
            "stage": "prod",
            "connectedAt": 1796378400000,
            "requestTimeEpoch": 1796378400500,
            "identity": {"sourceIp": "192.0.2.7"},
            "requestId": "request-1",
            "domainName": "abc123.execute-api.eu-central-1.amazonaws.com",
            "connectionId": "connection-1",
            "apiId": "abc123",
        },
        "isBase64Encoded": False,
    }


def function_setups(link_key_arn, turn_secret_arn):
    """Returns each function's event, its environment from
    infra/template.yaml, and its timeout in seconds."""
    turn_urls = "turn:turn.example.test:3478?transport=udp"
    mail = {
        "ROOMS_TABLE": "rooms",
        "PUBLIC_URL": PUBLIC_URL,
        "MAIL_FROM": "video@example.test",
        "PRACTICE_NAME": "Praxis Beispiel",
        "SES_CONFIGURATION_SET": "video",
        "MAIL_RATE": "1",
        "SEND_AFTER": "06:00",
        "LINK_KEY_SECRET_ARN": link_key_arn,
    }
    return {
        "hello": ({"source": "bench"}, {}, 10),
        # The practitioner's room list: one DynamoDB query on an empty table.
        "rooms-api": (
            http_api_event("/api/rooms"),
            {**mail, "PRACTITIONER_CLAIM": "sub", "RETENTION_DAYS": "8"},
            30,
        ),
        # A browser opening the signaling socket: the link throttle's lookup.
        "signaling": (
            websocket_connect_event(),
            {
                "ROOMS_TABLE": "rooms",
                "CONNECTIONS_TABLE": "connections",
                "ALLOWED_ORIGIN": PUBLIC_URL,
                "LINK_KEY_SECRET_ARN": link_key_arn,
                "TURN_URLS": turn_urls,
                "TURN_SECRET_ARN": turn_secret_arn,
            },
            10,
        ),
        # The join page, served from the binary.
        "web": (
            http_api_event("/join"),
            {
                "PUBLIC_URL": PUBLIC_URL,
                "SIGNALING_URL": "wss://abc123.execute-api.eu-central-1.amazonaws.com/prod",
                "RETENTION_DAYS": "8",
                "LOG_RETENTION_DAYS": "30",
                "TURN_URLS": turn_urls,
                "OPERATOR_NAME": "Praxis Beispiel",
                "OPERATOR_EMAIL": "datenschutz@example.test",
            },
            10,
        ),
        # A scheduled run with nothing due: the two index queries.
        "daily-emailer": ({"source": "aws.scheduler", "detail": {}}, mail, 900),
    }


class Invocation:
    """One process's events, the first cold and the others warm, and the
    times the runtime API saw, in perf_counter_ns. Index i of each list
    belongs to event i. AWS calls made before the first event count toward
    event 0."""

    def __init__(self, request_prefix, event, count, timeout_seconds):
        self.request_ids = [f"{request_prefix}-{index}" for index in range(count)]
        self.event = json.dumps(event).encode()
        self.timeout_seconds = timeout_seconds
        self.handed_out = 0
        self.next_ns = [None] * count
        self.result_ns = [None] * count
        self.result_kinds = [None] * count
        self.result_bodies = [b""] * count
        self.aws_intervals = [[] for _ in range(count)]
        self.peak_at_idle_kb = None
        self.pid = None
        self.done = threading.Event()
        self.finished = threading.Event()

    def aws_ns(self, index):
        """Time during event `index` in which at least one AWS call was
        waiting for its response. Calls made at the same time count once, so
        reading two secrets at once is not subtracted twice."""
        total = 0
        covered_until = 0
        for start, end in sorted(self.aws_intervals[index]):
            start = max(start, covered_until)
            if end > start:
                total += end - start
                covered_until = end
        return total

    def current_index(self):
        return max(self.handed_out - 1, 0)


class RuntimeApi(http.server.ThreadingHTTPServer):
    """Loopback Lambda Runtime API serving one invocation at a time."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), RuntimeApiHandler)
        self.lock = threading.Lock()
        self.invocation = None


class RuntimeApiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per response, with TCP_NODELAY: a response written in two
    # parts waits for the client's delayed ACK, up to 40 ms on Linux.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        pass

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        now = time.perf_counter_ns()
        if self.path != "/2018-06-01/runtime/invocation/next":
            self.reply(404)
            return
        with self.server.lock:
            invocation = self.server.invocation
            index = None
            if invocation is not None and invocation.handed_out < len(invocation.request_ids):
                index = invocation.handed_out
                invocation.handed_out += 1
                invocation.next_ns[index] = now
        if invocation is None:
            self.reply(503)
            return
        if index is not None:
            deadline_ms = int(time.time() * 1000) + invocation.timeout_seconds * 1000
            self.reply(200, invocation.event, {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": invocation.request_ids[index],
                "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn":
                    "arn:aws:lambda:eu-central-1:123456789012:function:bench",
                "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000",
            })
            return
        # The function responded to every event and waits for the next one: its
        # memory high-water mark is final for this run.
        invocation.peak_at_idle_kb = read_vm_hwm_kb(invocation.pid)
        invocation.finished.set()
        # Long-poll as Lambda does, until the run kills the process.
        invocation.done.wait(RUN_TIMEOUT_SECONDS)
        try:
            self.reply(503)
        except OSError:
            pass

    def do_POST(self):
        now = time.perf_counter_ns()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = self.path.strip("/").split("/")
        invocation = self.server.invocation
        if parts[:3] == ["2018-06-01", "runtime", "init"]:
            kind, request_id = "init-error", None
        elif len(parts) == 5 and parts[:3] == ["2018-06-01", "runtime", "invocation"]:
            kind, request_id = parts[4], parts[3]
        else:
            self.reply(404)
            return
        if invocation is not None:
            if request_id is None:
                index = 0
            elif request_id in invocation.request_ids:
                index = invocation.request_ids.index(request_id)
            else:
                index = None
            if index is not None:
                with self.server.lock:
                    if invocation.result_ns[index] is None:
                        invocation.result_ns[index] = now
                        invocation.result_kinds[index] = kind
                        invocation.result_bodies[index] = body
                if kind != "response":
                    invocation.finished.set()
        self.reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})


class AwsProxy(http.server.ThreadingHTTPServer):
    """Forwards the functions' AWS calls to moto and adds the time each call
    took to the running invocation, so that the report can show the start
    cost without the emulated AWS latency."""

    daemon_threads = True

    def __init__(self, moto_port, runtime_api):
        super().__init__(("127.0.0.1", 0), AwsProxyHandler)
        self.moto_port = moto_port
        self.runtime_api = runtime_api


class AwsProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # See RuntimeApiHandler.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    # Connection-level headers that must not be forwarded.
    HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}

    def log_message(self, format, *args):
        pass

    def forward(self):
        started_ns = time.perf_counter_ns()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {name: value for name, value in self.headers.items()
                   if name.lower() not in self.HOP_BY_HOP}
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.moto_port, timeout=30)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
        finally:
            upstream.close()
        invocation = self.server.runtime_api.invocation
        if invocation is not None:
            with self.server.runtime_api.lock:
                invocation.aws_intervals[invocation.current_index()].append(
                    (started_ns, time.perf_counter_ns()))
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in self.HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = forward


def log_tail(path, lines=20):
    """Returns the last lines of a function's output, for an error message."""
    try:
        tail = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n  output of the function:\n  " + "\n  ".join(tail)


def read_vm_hwm_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def check_result(name, kind, result):
    """Raises unless the function responded to an event with success."""
    if kind != "response":
        raise RuntimeError(f"{name} posted {kind}: {result[:500]!r}")
    body = json.loads(result)
    if name == "hello":
        return
    if name == "daily-emailer":
        if not isinstance(body, dict):
            raise RuntimeError(f"daily-emailer returned {body!r}, expected a run report")
        return
    if body.get("statusCode") != 200:
        raise RuntimeError(f"{name} returned status {body.get('statusCode')}: {body!r:.500}")


def run_once(server, name, function, binary, environment, event, warm, timeout_seconds,
             log_path, serial):
    """Starts one process, serves it the event 1 + `warm` times and returns
    milliseconds from the start to the first /next and to the first
    response, the milliseconds spent waiting for AWS (moto) up to that
    response, each warm invocation's time from handing out the event to the
    response without its AWS calls, and the peak RSS in KiB.

    The peak RSS is VmHWM, read while the process waits for its next
    event. wait4's ru_maxrss does not serve here: posix_spawn starts the
    child on the parent's memory, and Linux carries that high-water mark
    across exec, so every child would report this script's RSS."""
    invocation = Invocation(f"bench-{serial:05d}", event, 1 + warm, timeout_seconds)
    with server.lock:
        server.invocation = invocation
    with open(log_path, "ab") as log:
        started_ns = time.perf_counter_ns()
        pid = os.posix_spawn(binary, [binary], environment,
                             file_actions=[(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                                           (os.POSIX_SPAWN_DUP2, log.fileno(), 1),
                                           (os.POSIX_SPAWN_DUP2, log.fileno(), 2)])
    invocation.pid = pid
    try:
        if not invocation.finished.wait(RUN_TIMEOUT_SECONDS):
            raise RuntimeError(f"{name} did not respond to its {1 + warm} events within "
                               f"{RUN_TIMEOUT_SECONDS} s{log_tail(log_path)}")
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _, status = os.waitpid(pid, 0)
        invocation.done.set()
        with server.lock:
            server.invocation = None
    try:
        for kind, result in zip(invocation.result_kinds, invocation.result_bodies):
            check_result(function, kind, result)
    except (RuntimeError, ValueError) as error:
        raise RuntimeError(f"{error}{log_tail(log_path)}") from None
    if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
        raise RuntimeError(
            f"{name} exited by itself (wait status {status}){log_tail(log_path)}")
    if invocation.peak_at_idle_kb is None:
        raise RuntimeError(f"reading VmHWM of {name} (pid {pid}) failed")
    warm_ms = [(invocation.result_ns[index] - invocation.next_ns[index]
                - invocation.aws_ns(index)) / 1e6 for index in range(1, 1 + warm)]
    return {
        "init_ms": (invocation.next_ns[0] - started_ns) / 1e6,
        "response_ms": (invocation.result_ns[0] - started_ns) / 1e6,
        "aws_ms": invocation.aws_ns(0) / 1e6,
        "warm_ms": warm_ms,
        "rss_kb": invocation.peak_at_idle_kb,
    }


def base_environment(runtime_api, aws_endpoint, home, name):
    """The variables Lambda sets for every function, with AWS on loopback.
    HOME is an empty directory, so the SDK finds no ~/.aws files."""
    return {
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": MEMORY_MB.get(name, "256"),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_SESSION_TOKEN": "test",
        "AWS_ENDPOINT_URL": aws_endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "HOME": str(home),
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
    }


def median(values):
    return statistics.median(values)


def warm_text(values):
    return f"{median(values):.2f}" if values else "-"


def print_report(results, rows, runs, load_start, load_end):
    def own_ms(data):
        return [total - aws for total, aws in zip(data["response_ms"], data["aws_ms"])]

    hello = results["hello"]
    hello_ms = median(hello["response_ms"])
    hello_own_ms = median(own_ms(hello))
    print()
    print(f"Medians of {runs} run{'' if runs == 1 else 's'} per function; "
          "ratios are to hello in this run.")
    print("'Without AWS' subtracts the time the function waited for moto's answers.")
    print()
    print("| function | binary (MB) | to first /next (ms) | to response (ms) | ratio"
          " | AWS calls (ms) | without AWS (ms) | ratio without AWS | warm, without AWS (ms)"
          " | peak RSS (MiB) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, _, binary in rows:
        data = results[name]
        response_ms = median(data["response_ms"])
        without_aws_ms = median(own_ms(data))
        size_mb = os.path.getsize(binary) / 1e6
        print(f"| {name} | {size_mb:.1f} | {median(data['init_ms']):.1f} | {response_ms:.1f}"
              f" | {response_ms / hello_ms:.2f} | {median(data['aws_ms']):.1f}"
              f" | {without_aws_ms:.1f} | {without_aws_ms / hello_own_ms:.2f}"
              f" | {warm_text(data['warm_ms'])} | {median(data['rss_kb']) / 1024:.1f} |")
    print()
    print("Time to response (ms), min / median / max:")
    for name, _, _ in rows:
        values = results[name]["response_ms"]
        print(f"  {name:14} {min(values):7.1f} {median(values):7.1f} {max(values):7.1f}")
    print()
    print(f"Load average at start: {load_start}, at end: {load_end}")
    print(f"Machine: {platform.machine()}, {os.cpu_count()} logical cores, Linux "
          f"{platform.release()}, {cpu_model()}")


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def load_average():
    return Path("/proc/loadavg").read_text().split()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20,
                        help="measured runs per function, 1 to 200 (default 20)")
    parser.add_argument("--bin-dir", type=Path, default=Path("target/release"),
                        help="directory with the release binaries of the four functions "
                             "(default target/release)")
    parser.add_argument("--hello", type=Path, default=Path("target/release/cold-start-hello"),
                        help="release binary of bench/cold-start/hello "
                             "(default target/release/cold-start-hello)")
    parser.add_argument("--warm", type=int, default=5,
                        help="warm invocations after the cold one in each run, 0 to 100 "
                             "(default 5)")
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL=DIR",
                        help="also measure the four functions' binaries in DIR, such as a "
                             "build with another profile, in the same rounds; repeatable")
    parser.add_argument("--json", type=Path, help="also write every run's numbers to this file")
    parser.add_argument("--check-arguments", action="store_true",
                        help="only check the arguments and exit; the run script calls this "
                             "before its build")
    args = parser.parse_args()
    if not 1 <= args.runs <= 200:
        parser.error(f"--runs must be 1 to 200, got {args.runs}")
    if not 0 <= args.warm <= 100:
        parser.error(f"--warm must be 0 to 100, got {args.warm}")

    # Each row: its label, the function whose event and settings it uses,
    # and the binary.
    rows = [("hello", "hello", str(args.hello))]
    rows += [(name, name, str(args.bin_dir / name)) for name in FUNCTIONS if name != "hello"]
    for variant in args.variant:
        label, separator, directory = variant.partition("=")
        if not separator or not label or not directory:
            parser.error(f"--variant must be LABEL=DIR, got {variant!r}")
        rows += [(f"{name} [{label}]", name, str(Path(directory) / name))
                 for name in FUNCTIONS if name != "hello"]
    if args.check_arguments:
        return
    for label, _, path in rows:
        if not os.access(path, os.X_OK):
            sys.exit(f"measure.py: binary of {label} not found or not executable: {path}")

    # SIGTERM (from the run script's trap) ends the run through the finally blocks.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    load_start = load_average()
    work_dir = Path(tempfile.mkdtemp(prefix="cold-start-"))
    moto_port = free_port()
    moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(moto_port)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=open(work_dir / "moto.log", "wb"))
    server = None
    proxy = None
    try:
        wait_for_port(moto_port, moto, 30)
        moto_endpoint = f"http://127.0.0.1:{moto_port}"
        link_key_arn, turn_secret_arn = create_aws_resources(moto_endpoint)
        setups = function_setups(link_key_arn, turn_secret_arn)

        server = RuntimeApi()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        runtime_api = f"127.0.0.1:{server.server_address[1]}"
        proxy = AwsProxy(moto_port, server)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        aws_endpoint = f"http://127.0.0.1:{proxy.server_address[1]}"

        results = {name: {"init_ms": [], "response_ms": [], "aws_ms": [], "warm_ms": [],
                          "rss_kb": []} for name, _, _ in rows}
        serial = 0
        # Round 0 warms the page cache and moto's lazily loaded services and
        # is not counted. Functions alternate within each round, so a change
        # in the machine's load affects all of them alike.
        for round_number in range(args.runs + 1):
            for name, function, binary in rows:
                event, variables, timeout_seconds = setups[function]
                environment = {**base_environment(runtime_api, aws_endpoint, work_dir, function),
                               **variables}
                serial += 1
                measured = run_once(
                    server, name, function, binary, environment, event, args.warm,
                    timeout_seconds, work_dir / (re.sub(r"[^\w-]+", "-", name) + ".log"),
                    serial)
                if round_number == 0:
                    continue
                data = results[name]
                for key in ("init_ms", "response_ms", "aws_ms", "rss_kb"):
                    data[key].append(measured[key])
                data["warm_ms"].extend(measured["warm_ms"])
            if round_number > 0:
                print(f"round {round_number}/{args.runs}: " + ", ".join(
                    f"{name} {results[name]['response_ms'][-1]:.1f} ms" for name, _, _ in rows),
                    flush=True)
        load_end = load_average()
        print_report(results, rows, args.runs, load_start, load_end)
        if args.json:
            args.json.write_text(json.dumps({
                "runs": args.runs, "load_start": load_start, "load_end": load_end,
                "sizes": {name: os.path.getsize(path) for name, _, path in rows},
                "results": results}, indent=1))
    finally:
        if proxy is not None:
            proxy.shutdown()
            proxy.server_close()
        if server is not None:
            server.shutdown()
            server.server_close()
        moto.terminate()
        try:
            moto.wait(10)
        except subprocess.TimeoutExpired:
            moto.kill()
            moto.wait()
        for path in work_dir.iterdir():
            path.unlink()
        work_dir.rmdir()


if __name__ == "__main__":
    main()
