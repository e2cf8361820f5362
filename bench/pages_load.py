"""The pages of bench/pages.py served by gunicorn under load: requests per second and latency.

    scripts/system-deps.sh --with-bench          # wrk, the load generator (Debian package)
    .venv/bin/python -m bench.pages_load [--loans 1000000] [--seconds 30] [--connections 4]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python -m bench.pages_load --loans 20000

Prepares the same data as bench/pages.py (seeded portfolio, BENCH-J700, open cases up to
--cases), signs the same people in (sessions made by Django, passed to wrk as a cookie), then
starts gunicorn with `portal.wsgi:application` (--workers sync workers, default 2, DEBUG off) on
a free port of 127.0.0.1, waits until it answers, and loads each page in turn with wrk from
loopback: a warm-up (each page requested by --connections clients at once, twice, which also
checks that it answers 200), then --seconds of --connections concurrent connections (default 4,
two per worker: the workers are never idle, and a request may wait for one while it serves
another, so the latency includes that queueing) on up to 2 threads. The load generator shares
the machine's cores with the server and the database.

Prints requests per second and the median, p95 and p99 latency of each page (wrk's own
histogram, read by a small Lua script). The monitoring dashboard is measured as supervisors get
it, its figures kept in the shared cache (bench/pages.py times their computation). gunicorn is
stopped at the end, also on errors and Ctrl-C. Exits non-zero only when a page is wrong: a
response other than 200, or a socket error (the server dropped or refused a connection), never
because it was slow.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.harness import ROOT, arguments, setup
from bench.pages import add_data_arguments, bench_pages, prepare

# wrk runs this in each thread; done() runs once at the end with every thread's counters.
WRK_SCRIPT = """
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  not_ok = 0
end

function response(status, headers, body)
  if status ~= 200 then
    not_ok = not_ok + 1
  end
end

function done(summary, latency, requests)
  local wrong = 0
  for _, thread in ipairs(threads) do
    wrong = wrong + thread:get("not_ok")
  end
  local e = summary.errors
  io.write(string.format("bench requests=%d duration_us=%d p50_us=%d p95_us=%d p99_us=%d max_us=%d "
    .. "not_ok=%d non2xx3xx=%d connect=%d read=%d write=%d timeout=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, wrong, e.status, e.connect, e.read, e.write, e.timeout))
end
"""


def main() -> int:
    parser = arguments(__doc__)
    add_data_arguments(parser)
    parser.add_argument("--seconds", type=int, default=30, help="load per page (default 30)")
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is missing: run scripts/system-deps.sh --with-bench (as root, or the apt-get line it prints)")
        return 2
    setup("bench.pages_load", sqlite=args.sqlite)

    from django.conf import settings
    from django.test import Client

    prepare(loans=args.loans, cases=args.cases)
    pages = [page for page in bench_pages() if not page.cold]
    cookies = {}
    for page in pages:
        client = Client()
        client.force_login(page.user)
        cookies[page.label] = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    wrong: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pages-load-") as scratch:
        script = Path(scratch) / "report.lua"
        script.write_text(WRK_SCRIPT)
        log = Path(scratch) / "gunicorn.log"
        port = free_port()
        server = start_gunicorn(port=port, workers=args.workers, log=log)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_answering(server, base, log)
            print(f"\ngunicorn: {args.workers} workers on 127.0.0.1:{port}; wrk: {args.connections} connections, "
                  f"{min(2, args.connections)} threads, {args.seconds} s per page")
            print(f"\n{'page':<34} {'req/s':>8}   {'median':>9}   {'p95':>9}   {'p99':>9}   errors")
            for page in pages:
                url = base + page.url
                statuses = warm_up(url, cookies[page.label], args.connections)
                if statuses != {200}:
                    wrong.append(f"{page.label}: status {sorted(statuses)} before the load")
                    continue
                figures = run_wrk(wrk, url, cookies[page.label], script, args.seconds, args.connections)
                if figures is None:
                    wrong.append(f"{page.label}: wrk printed no figures")
                    continue
                seconds = figures["duration_us"] / 1e6
                errors = figures["connect"] + figures["read"] + figures["write"]
                print(f"{page.label:<34} {figures['requests'] / seconds:8.1f}   "
                      f"{figures['p50_us'] / 1000:6.1f} ms   {figures['p95_us'] / 1000:6.1f} ms   "
                      f"{figures['p99_us'] / 1000:6.1f} ms   {figures['not_ok'] + errors}"
                      + (f" ({figures['timeout']} timeouts)" if figures["timeout"] else ""))
                if figures["not_ok"] or figures["non2xx3xx"]:
                    wrong.append(f"{page.label}: {figures['not_ok']} responses other than 200")
                if errors:
                    wrong.append(f"{page.label}: {errors} socket errors (connect, read, write)")
                if server.poll() is not None:
                    wrong.append(f"gunicorn stopped (status {server.returncode})")
                    break
        finally:
            stop(server)
        if wrong and log.exists():
            print("\nlast lines of gunicorn's log:")
            print("\n".join(log.read_text(errors="replace").splitlines()[-20:]))
    for line in wrong:
        print(f"WRONG: {line}")
    return 1 if wrong else 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_gunicorn(*, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    command = [
        sys.executable, "-m", "gunicorn", "portal.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        # A slow page is measured, not killed: gunicorn's default timeout is 30 s.
        "--timeout", "300", "--error-logfile", str(log),
    ]
    # Its own process group: stopped with everything it started, and not by our Ctrl-C first.
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    # Turn SIGTERM/SIGHUP into an exception, so that the `finally` stopping gunicorn runs.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda number, frame: sys.exit(128 + number))
    return server


def wait_until_answering(server: subprocess.Popen[bytes], base: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {server.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(base + "/", timeout=5):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect (to the sign-in page) is an answer to report, not to follow


def fetch(url: str, cookie: str) -> int:
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    try:
        with opener.open(request, timeout=300) as response:
            response.read()
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


def warm_up(url: str, cookie: str, connections: int) -> set[int]:
    """Each page requested by `connections` clients at once, twice: every worker has served it."""
    with ThreadPoolExecutor(max_workers=connections) as pool:
        statuses = set()
        for _ in range(2):
            statuses |= set(pool.map(lambda _n: fetch(url, cookie), range(connections)))
    return statuses


def run_wrk(wrk: str, url: str, cookie: str, script: Path, seconds: int, connections: int) -> dict[str, int] | None:
    result = subprocess.run(
        [wrk, "--threads", str(min(2, connections)), "--connections", str(connections), "--duration", f"{seconds}s",
         "--timeout", "60s", "--script", str(script), "--header", f"Cookie: {cookie}", url],
        capture_output=True, text=True, check=False,
    )
    line = next((line for line in result.stdout.splitlines() if line.startswith("bench ")), None)
    if line is None:
        print(result.stdout + result.stderr)
        return None
    return {key: int(value) for key, value in re.findall(r"(\w+)=(-?\d+)", line)}


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to gunicorn's process group (its graceful stop), SIGKILL if it does not go."""
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    sys.exit(main())
