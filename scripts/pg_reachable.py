"""Exit 0 when the PostgreSQL server behind a URL answers, 1 otherwise."""

import sys

import psycopg
from sqlalchemy.engine import make_url

url = make_url(sys.argv[1]).set(drivername="postgresql")
try:
    with psycopg.connect(url.render_as_string(hide_password=False), connect_timeout=3) as conn:
        conn.execute("select 1")
except Exception as exc:  # noqa: BLE001
    print(f"cannot reach {url.render_as_string(hide_password=True)}: {exc}", file=sys.stderr)
    sys.exit(1)
