"""Ingest speed and memory against a bare loop, in the same run.

    pip install -e '.[test,bench]'
    python bench/ingest.py --records 1000000 [--postgresql postgresql://postgres@127.0.0.1/test]

Generates chatvault JSONL and Claude Code session logs (with streaming snapshots), then
measures, each in a fresh process: `chatvault ingest` on SQLite (and PostgreSQL when given a
server), and the bare loop the goal is set against: orjson parse + sqlite3 executemany of the
same rows into the same table, with the same indexes and the unique request_id. Memory is
the process's peak RSS; the goal is that it stays flat as the input grows, so the chatvault
JSONL import also runs at a tenth of the size.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4-20250514", "o1", "house-model"]
CLAUDE_MODELS = [
    "claude-sonnet-4-20250514",
    "claude-opus-4-1-20250805",
    "claude-3-5-haiku-20241022",
]
START = datetime(2025, 6, 1, tzinfo=UTC)

BARE_LOOP = r"""
import resource, sqlite3, sys, time, orjson
path, db = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(db)
cols = ("request_id", "created_at", "user_id", "model", "provider", "input_tokens",
        "output_tokens", "cache_read_tokens", "request_count", "cost_cents", "project")
sql = f"INSERT INTO usage_logs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
started, batch, n = time.perf_counter(), [], 0
with open(path, "rb") as f:
    for line in f:
        r = orjson.loads(line)
        batch.append((r["request_id"], r["created_at"], r["user_id"], r["model"], r["provider"],
                      r["input_tokens"], r["output_tokens"], r["cache_read_tokens"],
                      r["request_count"], None, r["project"]))
        if len(batch) == 2000:
            conn.executemany(sql, batch); n += len(batch); batch = []
conn.executemany(sql, batch); n += len(batch)
conn.commit()
seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
print(n, seconds, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime)
"""

MEASURED = r"""
import resource, sys, time
from chatvault.cli.app import main
sys.argv = ["chatvault", *sys.argv[1:]]
started = time.perf_counter()
try:
    main()
finally:
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(seconds, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime, file=sys.stderr)
"""


def write_chatvault(path: Path, count: int, rng: random.Random) -> None:
    with path.open("w") as out:
        for i in range(count):
            out.write(
                json.dumps(
                    {
                        "request_id": f"req-{i:09d}",
                        "created_at": (START + timedelta(seconds=i * 17)).isoformat(),
                        "user_id": f"user-{rng.randrange(1000)}",
                        "model": rng.choice(MODELS),
                        "provider": "openai",
                        "input_tokens": rng.randrange(10, 20_000),
                        "output_tokens": rng.randrange(1, 2_000),
                        "cache_read_tokens": rng.randrange(0, 5_000),
                        "request_count": 1,
                        "project": f"project-{rng.randrange(20)}",
                    }
                )
                + "\n"
            )


def write_claude_code(root: Path, lines: int, rng: random.Random) -> None:
    """Session files of assistant messages; a tenth of them written twice (streaming)."""
    per_file, written, session = 5_000, 0, 0
    while written < lines:
        project = root / "projects" / f"-home-dev-project-{session % 25}"
        project.mkdir(parents=True, exist_ok=True)
        sid = str(uuid.UUID(int=rng.getrandbits(128)))
        with (project / f"{sid}.jsonl").open("w") as out:
            end = min(written + per_file, lines)
            while written < end:
                mid = f"msg_{rng.getrandbits(64):016x}"
                at = START + timedelta(seconds=rng.randrange(180 * 86_400))
                usage = {
                    "input_tokens": rng.randrange(1, 50),
                    "output_tokens": rng.randrange(1, 3000),
                    "cache_creation_input_tokens": rng.randrange(0, 20_000),
                    "cache_read_input_tokens": rng.randrange(0, 200_000),
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": 0,
                        "ephemeral_1h_input_tokens": 0,
                    },
                }
                usage["cache_creation"]["ephemeral_5m_input_tokens"] = usage[
                    "cache_creation_input_tokens"
                ]
                entry = {
                    "parentUuid": None,
                    "isSidechain": False,
                    "userType": "external",
                    "cwd": "/home/dev",
                    "sessionId": sid,
                    "version": "1.0.90",
                    "type": "assistant",
                    "requestId": f"req_{rng.getrandbits(64):016x}",
                    "message": {
                        "id": mid,
                        "type": "message",
                        "role": "assistant",
                        "model": rng.choice(CLAUDE_MODELS),
                        "content": [{"type": "text", "text": "x" * rng.randrange(50, 600)}],
                        "usage": usage,
                    },
                    "uuid": str(uuid.UUID(int=rng.getrandbits(128))),
                    "timestamp": at.isoformat(),
                }
                if rng.random() < 0.1 and written + 1 < end:  # a snapshot while streaming
                    output = usage["output_tokens"]
                    usage["output_tokens"] = 1
                    out.write(json.dumps(entry) + "\n")
                    usage["output_tokens"] = output
                    written += 1
                out.write(json.dumps(entry) + "\n")
                written += 1
        session += 1


def chatvault(args: list[str]) -> tuple[float, int, float]:
    """Wall seconds, peak RSS and CPU seconds of one `chatvault` run in a fresh process."""
    done = subprocess.run([sys.executable, "-c", MEASURED, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"chatvault {' '.join(args)} failed:\n{done.stderr}")
    seconds, peak, cpu = done.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(peak), float(cpu)


def fresh_sqlite(folder: Path, name: str) -> str:
    url = f"sqlite:///{folder / name}"
    subprocess.run(
        [sys.executable, "-m", "chatvault", "--database", url, "db", "migrate"],
        check=True,
        capture_output=True,
    )
    return url


def report(label: str, records: int, seconds: float, peak: int, cpu: float) -> dict:
    rate = records / seconds
    print(
        f"{label:<46} {records:>10,} {seconds:>8.1f} s {rate:>10,.0f}/s "
        f"{peak / 2**20:>8.0f} MiB {cpu:>8.1f} s"
    )
    return {"records": records, "rate": rate, "peak": peak, "cpu_rate": records / cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--postgresql", help="a PostgreSQL URL whose database may be emptied")
    args = parser.parse_args()
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        big, small = folder / "big.jsonl", folder / "small.jsonl"
        write_chatvault(big, args.records, rng)
        write_chatvault(small, args.records // 10, rng)
        write_claude_code(folder / "claude", args.records, rng)
        print(f"{'':<46} {'records':>10} {'time':>10} {'rate':>11} {'peak RSS':>12} {'CPU':>10}")
        bare_db = fresh_sqlite(folder, "bare.db")
        out = subprocess.run(
            [sys.executable, "-c", BARE_LOOP, str(big), bare_db[len("sqlite:///") :]],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        bare = report(
            "bare loop: orjson + sqlite3 executemany",
            int(out[0]),
            float(out[1]),
            int(out[2]),
            float(out[3]),
        )
        results = []
        for label, source, size in (
            ("chatvault ingest, chatvault JSONL, SQLite", big, args.records),
            ("  the same at a tenth of the size", small, args.records // 10),
        ):
            url = fresh_sqlite(folder, f"{source.stem}.db")
            measured = chatvault(["ingest", "--quiet", "--database", url, str(source)])
            results.append(report(label, size, *measured))
        url = fresh_sqlite(folder, "claude.db")
        measured = chatvault(
            ["ingest", "--quiet", "--user", "dev", "--database", url, str(folder / "claude")]
        )
        report("chatvault ingest, Claude Code logs, SQLite", args.records, *measured)
        if args.postgresql:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "chatvault",
                    "--database",
                    args.postgresql,
                    "db",
                    "downgrade",
                    "base",
                    "--yes",
                ],
                capture_output=True,
            )
            subprocess.run(
                [sys.executable, "-m", "chatvault", "--database", args.postgresql, "db", "migrate"],
                check=True,
                capture_output=True,
            )
            measured = chatvault(["ingest", "--quiet", "--database", args.postgresql, str(big)])
            report("chatvault ingest, chatvault JSONL, PostgreSQL", args.records, *measured)
        ratio = results[0]["rate"] / bare["rate"]
        cpu_ratio = results[0]["cpu_rate"] / bare["cpu_rate"]
        growth = results[0]["peak"] / results[1]["peak"]
        print(f"\nrate against the bare loop: {ratio:.2f}x (goal: at least 0.70x)")
        print(f"the same in CPU time (steadier on a shared machine): {cpu_ratio:.2f}x")
        print(f"peak memory at full size / at a tenth: {growth:.2f}x (goal: flat, about 1.0x)")


if __name__ == "__main__":
    main()
