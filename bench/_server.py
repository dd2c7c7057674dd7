"""What the benchmarks that serve the project share (not a benchmark itself: bench/run_all.py skips
files starting with "_"): a PostgreSQL database of their own, the environment gunicorn runs the
project under (DEBUG=0, loopback only), starting gunicorn, waiting until it answers, and stopping it.

bench/scan_page.py and bench/_offline_site.py (behind bench/offline_sync.py and the guides'
screenshots) serve through these, so both measure the same server setup.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def ensure_database(url: str, *, fresh: bool = False) -> None:
    """Creates the database `url` names if it is missing; with fresh=True, drops it first."""
    import psycopg2

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    connection = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    connection.autocommit = True
    with connection.cursor() as cursor:
        if fresh:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def environment(port: int, database_url: str, **extra: str) -> dict:
    """The production-like settings the server runs under (and this process seeds with)."""
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "SECURE_COOKIES": "0",
        "LOG_LEVEL": "ERROR",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **extra,
    }


def setup_django(env: dict) -> None:
    """Takes the server's settings into this process and sets Django up with them."""
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def gunicorn(app: str, port: int, env: dict, *, workers: int, options: tuple[str, ...] = ()) -> subprocess.Popen:
    """gunicorn serving `app` on 127.0.0.1:`port` in a session of its own (stop() ends it)."""
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        *options,
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def wait_until_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"gunicorn did not answer {url} within {seconds:.0f} s")
        time.sleep(0.2)


def stop(*servers: subprocess.Popen) -> None:
    """Asks each server to finish (its workers write what they hold), kills it after 20 s."""
    for server in servers:
        os.killpg(server.pid, signal.SIGTERM)
    for server in servers:
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
