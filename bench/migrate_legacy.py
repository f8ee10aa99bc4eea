"""How long adopting a legacy database takes: N generated legacy rows, then `db migrate`.

    python bench/migrate_legacy.py --rows 1000000 --database sqlite:////tmp/legacy.db
    python bench/migrate_legacy.py --rows 1000000 --database postgresql://postgres@127.0.0.1/bench

The database must be empty (or a missing SQLite file). Rows are generated in SQL where the
dialect can (PostgreSQL generate_series, SQLite/MariaDB recursive CTE), so generation is not
what is measured. Prints rows, seconds, rows/s, and whether every cost converted exactly.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sqlalchemy import text

from chatvault.db.engine import connect, parse_url
from chatvault.db.migrate import migrate

DDL = Path(__file__).parents[1] / "tests" / "fixtures" / "legacy"

# Each row i gets a cost of (i mod 1000003) millionths of a dollar, NULL every 10th row.
COST = "CASE WHEN {i} % 10 = 0 THEN NULL ELSE ({i} % 1000003) / 1000000.0 END"
INTO = (
    "INSERT INTO usage_logs (user_id, model, input_tokens, output_tokens, cost_usd, "
    "processing_duration_seconds, status, created_at) "
)
SELECT = "SELECT {user}, 'gpt-4o', {i} % 5000, {i} % 700, " + COST + ", 0.25, 'success', {at}"


def generate(url: str, rows: int) -> None:
    dialect = parse_url(url).get_backend_name()
    ddl = (DDL / f"usage_logs_{'mysql' if dialect == 'mariadb' else dialect}.sql").read_text()
    with connect(url) as conn:
        for statement in filter(str.strip, ddl.split(";")):
            conn.execute(text(statement))
        if dialect == "postgresql":
            select = SELECT.format(
                i="i",
                user="'user-' || (i % 1000)",
                at="TIMESTAMP '2025-01-01' + i * INTERVAL '1 second'",
            )
            conn.execute(text(INTO + select + f" FROM generate_series(1, {rows}) AS i"))
        else:
            if dialect != "sqlite":
                depth = (
                    "max_recursive_iterations"
                    if conn.dialect.is_mariadb
                    else "cte_max_recursion_depth"
                )
                conn.execute(text(f"SET SESSION {depth} = {rows + 1}"))
            concat = "'user-' || (n % 1000)" if dialect == "sqlite" else "CONCAT('user-', n % 1000)"
            at = (
                "datetime('2025-01-01', '+' || n || ' seconds')"
                if dialect == "sqlite"
                else "TIMESTAMP '2025-01-01 00:00:00' + INTERVAL n SECOND"
            )
            numbers = (
                f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {rows}) "
            )
            conn.execute(
                text(INTO + numbers + SELECT.format(i="n", user=concat, at=at) + " FROM s")
            )
        conn.commit()


def exact(url: str, rows: int) -> bool:
    """Every priced row's cents equal (i mod 1000003) / 10000, recomputed in SQL."""
    sqlite = parse_url(url).get_backend_name() == "sqlite"
    expected = "(id % 1000003) * 100" if sqlite else "(id % 1000003) / 10000.0"
    with connect(url) as conn:
        wrong = conn.execute(
            text(
                f"SELECT COUNT(*) FROM usage_logs WHERE cost_cents <> {expected} "
                "OR (cost_cents IS NULL) <> (id % 10 = 0)"
            )
        ).scalar()
        count = conn.execute(text("SELECT COUNT(*) FROM usage_logs")).scalar()
    return wrong == 0 and count == rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", required=True)
    args = parser.parse_args()
    generate(args.database, args.rows)
    started = time.perf_counter()
    migrate(args.database, backup=False)
    seconds = time.perf_counter() - started
    ok = exact(args.database, args.rows)
    print(f"{args.rows} rows  {seconds:.2f} s  {args.rows / seconds:,.0f} rows/s  exact={ok}")


if __name__ == "__main__":
    main()
