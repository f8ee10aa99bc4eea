"""`chatvault serve` under load: OTLP senders and report readers at once, nothing lost.

    pip install -e '.[test]'
    python bench/serve.py [--seconds 60] [--postgresql postgresql://postgres@127.0.0.1/test]
    python bench/serve.py --smoke        # 5 s phases: does it run, does it lose anything
    python bench/serve.py --workers 2    # uvicorn worker processes

For each database (SQLite, and PostgreSQL when given a server): a fresh demo database
(`chatvault demo`, 90 days, about 80,000 rows), `chatvault serve` started as its own process
(--workers N), then three phases:

1. reads alone (a third of --seconds): 4 clients asking for reports at 50 requests/s in all
   (usage, grouped usage, logs, insights, budget, dashboard, predictions, the HTML
   dashboard, /metrics in turn), after each of them twice per worker to warm it up, and
   /healthz 10 times a second apart from them: the floor, what any answer waits for on
   the machine at the time (no token, thread or database);
2. both (--seconds): 8 clients each sending OTLP/HTTP protobuf batches of 512 Claude Code
   `api_request` events (of today) as fast as the server answers (or, with --send-rate,
   paced to that many records/s in all), every 10th batch sent twice (an exporter's
   retry), while the 4 readers keep asking at 50 requests/s;
3. OTLP alone (a third of --seconds): the 8 senders without the readers.

Then the stored rows are counted: exactly the number of distinct events sent, or the run
fails. Reported: records/s received (distinct events stored / the phase's seconds),
latency p50/p99 per kind of request, and every status code seen (no 5xx is the goal).
Goals (issue 17, a 2-core machine): >= 5,000 records/s over OTLP into SQLite and into
PostgreSQL; read p99 < 50 ms at 50 requests/s on the demo database.
The clients run in two processes of their own (senders, readers), on the same machine as
the server: their CPU is taken from the server's, as a colocated collector's would be.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

READ_TOKEN = "bench-read-token-0123456789"
SEND_TOKEN = "bench-send-token-0123456789"
READS = ["/v1/usage", "/v1/usage?group_by=day,model&since=30d", "/v1/usage/logs?limit=50",
         "/v1/usage/insights", "/v1/costs/budget", "/v1/costs/dashboard",
         "/v1/usage/predictions", "/", "/metrics"]  # fmt: skip
FLOOR = "/healthz"  # asked alongside the reads, reported apart from them
RETRY_EVERY = 10  # every 10th batch is sent a second time, as an exporter retries
MODELS = ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def template(batch: int):
    """One ExportLogsServiceRequest of `batch` api_request events, as Claude Code sends
    them; each batch sent changes its events' sequence attribute (their identity)."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource

    def kv(key: str, value: str) -> KeyValue:
        return KeyValue(key=key, value=AnyValue(string_value=value))

    now = time.time_ns() - 600 * 10**9
    records = []
    for i in range(batch):
        attrs = {
            "event.name": "api_request",
            "event.sequence": "",
            "session.id": f"bench-session-{i % 7}",
            "user.email": f"dev{i % 13}@example.com",
            "model": MODELS[i % len(MODELS)],
            "input_tokens": str(100 + i),
            "output_tokens": str(20 + i % 50),
            "cache_read_tokens": str(1000 * (i % 3)),
            "cache_creation_tokens": "0",
            "cost_usd": f"0.{i % 97:02d}1234",
            "duration_ms": str(800 + i),
        }
        records.append(
            LogRecord(
                time_unix_nano=now + i * 1000,
                body=AnyValue(string_value="claude_code.api_request"),
                attributes=[kv(k, v) for k, v in attrs.items()],
            )
        )
    resource = Resource(attributes=[kv("service.name", "claude-code"), kv("project", "bench")])
    return ExportLogsServiceRequest(
        resource_logs=[ResourceLogs(resource=resource, scope_logs=[ScopeLogs(log_records=records)])]
    )


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def together(client, clients: int) -> None:
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def senders(url: str, clients: int, batch: int, seconds: float, rate: float, out) -> None:
    """`clients` threads posting batches for `seconds`, back to back or `rate` records/s in
    all; puts (distinct events sent, statuses, latencies) on `out`."""
    import httpx

    run = uuid.uuid4().hex[:8]
    began = time.monotonic()
    stop = began + seconds
    lock = threading.Lock()
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    distinct = [0]

    def client(number: int) -> None:
        request = template(batch)
        records = request.resource_logs[0].scope_logs[0].log_records
        headers = {"Authorization": f"Bearer {SEND_TOKEN}",
                   "Content-Type": "application/x-protobuf"}  # fmt: skip
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            sent, interval = 0, batch * clients / rate if rate else 0.0
            while time.monotonic() < stop:
                due = began + (sent + number / clients) * interval  # 0 unpaced: at once
                time.sleep(max(0.0, due - time.monotonic()))
                for i, record in enumerate(records):
                    record.attributes[1].value.string_value = f"{run}-{number}-{sent}-{i}"
                body = request.SerializeToString()
                for _ in range(2 if sent % RETRY_EVERY == 0 else 1):
                    while True:  # an exporter retries 429 and 503 (OTLP/HTTP), after a pause
                        started = time.perf_counter()
                        answer = http.post("/v1/logs", content=body)
                        elapsed = time.perf_counter() - started
                        with lock:
                            statuses[answer.status_code] += 1
                            latencies.append(elapsed)
                        if answer.status_code not in (429, 503):
                            break
                        time.sleep(0.5)
                    if answer.status_code != 200:
                        raise SystemExit(f"send: {answer.status_code} {answer.text[:200]}")
                with lock:
                    distinct[0] += batch
                sent += 1

    together(client, clients)
    out.put(("send", time.monotonic() - began, distinct[0], dict(statuses), latencies))


def readers(url: str, clients: int, rate: float, seconds: float, out) -> None:
    """`clients` threads asking for READS in turn, `rate` requests/s in all, each on its own
    schedule (a late request goes at once, until the phase ends)."""
    import httpx

    interval = clients / rate
    began = time.monotonic()
    lock = threading.Lock()
    statuses: Counter[int] = Counter()
    latencies: dict[str, list[float]] = {path: [] for path in (*READS, FLOOR)}

    def client(number: int) -> None:
        headers = {"Authorization": f"Bearer {READ_TOKEN}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            start = time.monotonic() + number * interval / clients
            k = 0
            while True:
                due = start + k * interval
                if max(due, time.monotonic()) - start > seconds:
                    break  # late requests are not made up after the phase's end
                time.sleep(max(0.0, due - time.monotonic()))
                path = READS[(number + k * clients) % len(READS)]
                started = time.perf_counter()
                answer = http.get(path)
                elapsed = time.perf_counter() - started
                with lock:
                    statuses[answer.status_code] += 1
                    latencies[path].append(elapsed)
                k += 1

    def floor() -> None:
        """/healthz 10 times a second: no token, thread or database, a read's lower bound."""
        with httpx.Client(base_url=url, timeout=60) as http:
            while time.monotonic() - began < seconds:
                started = time.perf_counter()
                http.get(FLOOR)
                latencies[FLOOR].append(time.perf_counter() - started)
                time.sleep(0.1)

    probe = threading.Thread(target=floor)
    probe.start()
    together(client, clients)
    probe.join()
    out.put(("read", time.monotonic() - began, 0, dict(statuses), latencies))


def stored_events(database: str) -> int:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(database, poolclass=NullPool)
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT count(*) FROM usage_logs WHERE project = 'bench'")
        ).scalar_one()
    engine.dispose()
    return found


class Server:
    def __init__(self, database: str, config: Path, workers: int, env: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115  closed by stop()
        self.output = ""
        argv = [sys.executable, "-m", "chatvault", "serve", "--database", database, "--config",
                str(config), "--port", str(self.port), "--workers", str(workers)]  # fmt: skip
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the server did not start:\n{self.output}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.seek(0)
        self.output = self.log.read().decode(errors="replace")
        self.log.close()


def phase(server: Server, args, seconds: float, read: bool, send: bool) -> dict:
    """Readers and/or senders for `seconds`, each in a process of its own; their results by
    kind: (seconds they ran, distinct events sent, statuses, latencies)."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = []
    if read:
        work = (server.url, args.readers, args.rate, seconds, out)
        procs.append(ctx.Process(target=readers, args=work))
    if send:
        work = (server.url, args.senders, args.batch, seconds, args.send_rate, out)
        procs.append(ctx.Process(target=senders, args=work))
    for proc in procs:
        proc.start()
    results = {kind: rest for kind, *rest in (out.get(timeout=seconds + 600) for _ in procs)}
    for proc in procs:
        proc.join()
    return results


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.1f} ms"


def report(label: str, results: dict, rate: float) -> None:
    if "read" in results:
        seconds, _, statuses, latencies = results["read"]
        every = [x for path in READS for x in latencies[path]]
        print(f"{label}: reads {len(every)} in {seconds:.1f} s ({len(every) / seconds:.1f}/s, "
              f"asked {rate:.0f}/s), p50 {ms(every, 0.5)}, p99 {ms(every, 0.99)}, "
              f"statuses {statuses}")  # fmt: skip
        for path, values in latencies.items():
            name = f"{path} (floor, not a read)" if path == FLOOR else path
            print(f"    {name:40} n={len(values):4}  p50 {ms(values, 0.5):>9}"
                  f"  p99 {ms(values, 0.99):>9}")  # fmt: skip
    if "send" in results:
        seconds, distinct, statuses, latencies = results["send"]
        print(f"{label}: OTLP {distinct:,} distinct events in {len(latencies)} requests "
              f"(every {RETRY_EVERY}th batch twice) in {seconds:.1f} s: "
              f"{distinct / seconds:,.0f} records/s; request p50 {ms(latencies, 0.5)}, "
              f"p99 {ms(latencies, 0.99)}, statuses {statuses}")  # fmt: skip
    sys.stdout.flush()


def warm_up(server: Server, workers: int) -> None:
    """Each report twice per worker, a connection each (the kernel hands connections to the
    workers in turn): a worker's first answers import and compile what later ones reuse."""
    import httpx

    headers = {"Authorization": f"Bearer {READ_TOKEN}"}
    for _ in range(2 * workers):
        for path in READS:
            httpx.get(f"{server.url}{path}", headers=headers, timeout=60).raise_for_status()


def bench(kind: str, database: str, args, env: dict[str, str], config: Path) -> bool:
    print(f"== {kind}: demo database, serve --workers {args.workers}", flush=True)
    subprocess.run([sys.executable, "-m", "chatvault", "demo", "--database", database],
                   env=env, check=True, capture_output=True)  # fmt: skip
    server = Server(database, config, args.workers, env)
    phases = {}
    try:
        warm_up(server, args.workers)
        short = max(5.0, args.seconds / 3)
        phases["reads alone"] = phase(server, args, short, read=True, send=False)
        report(f"{kind} reads alone", phases["reads alone"], args.rate)
        phases["both"] = phase(server, args, args.seconds, read=True, send=True)
        report(f"{kind} both", phases["both"], args.rate)
        phases["OTLP alone"] = phase(server, args, short, read=False, send=True)
        report(f"{kind} OTLP alone", phases["OTLP alone"], args.rate)
    finally:
        server.stop()
    sent = sum(results["send"][1] for results in phases.values() if "send" in results)
    stored = stored_events(database)
    print(f"{kind}: sent {sent:,} distinct events, stored {stored:,}", flush=True)
    codes = [code for results in phases.values() for _, _, statuses, _ in results.values()
             for code in statuses]  # fmt: skip
    ok = True
    if stored != sent:
        print(f"{kind}: FAIL: {stored - sent:+,} rows", flush=True)
        ok = False
    if any(code >= 500 for code in codes):
        print(f"{kind}: FAIL: a 5xx answer; the server said:\n{server.output[-3000:]}")
        ok = False
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="the load phase's length")
    parser.add_argument("--smoke", action="store_true", help="5 s phases")
    parser.add_argument("--postgresql", metavar="ADMIN_URL", help="also on this server")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=50, help="reads per second in all")
    parser.add_argument("--batch", type=int, default=512, help="events per OTLP request")
    parser.add_argument("--send-rate", type=float, default=0, help="records/s (0: unpaced)")
    args = parser.parse_args()
    if args.smoke:
        args.seconds = 5
    ok = True
    with tempfile.TemporaryDirectory(prefix="cvbench-serve-") as tmp:
        env = {**os.environ, "XDG_DATA_HOME": tmp, "XDG_CONFIG_HOME": tmp,
               "CHATVAULT_SERVE_READ_TOKENS": READ_TOKEN,
               "CHATVAULT_SERVE_SEND_TOKENS": SEND_TOKEN}  # fmt: skip
        env.pop("CHATVAULT_DATABASE_URL", None)
        config = Path(tmp) / "chatvault" / "demo" / "config.yaml"  # written by the demo
        if not args.no_sqlite:
            ok &= bench("SQLite", f"sqlite:///{tmp}/demo.db", args, env, config)
        if args.postgresql:
            ok &= postgresql(args, env, config)
    sys.exit(0 if ok else 1)


def postgresql(args, env: dict[str, str], config: Path) -> bool:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    admin = create_engine(args.postgresql, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    name = f"cvbench_serve_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(args.postgresql).set(database=name).render_as_string(hide_password=False)
    try:
        return bench("PostgreSQL", url, args, env, config)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
