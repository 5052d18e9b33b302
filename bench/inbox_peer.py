"""The peer of ``bench/inbox.py``: bovine-herd, installed from PyPI into a throwaway venv and
served by hypercorn on loopback with its own SQLite database, given the same signed load.

bovine-herd has no module-level app: a three-line Quart app (``BovineHerd(app)``) is written
beside its database. Its actor is made with ``bovine_tool.register`` (the ``--domain`` given as
``http://127.0.0.1:PORT``, so its URLs are on loopback); its actor document answers only signed
GETs, so the inbox URL is read from its database (``bovineactorendpoint``). It verifies the
signatures (fetching the 50 actors from the bench's server), answers 202, then stores the
activity and its object (``storedjsonobject``): an offer counts as stored once its object is.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

VENV = Path("/tmp/bench-bovine-venv")
APP = """import os
from quart import Quart
from bovine_herd import BovineHerd
app = Quart(__name__)
BovineHerd(app, db_url=os.environ["BOVINE_DB_URL"])
"""


STALL_SECONDS = 60.0
"""Stop waiting for stored offers once none was stored for this long (some never are)."""


class PeerUnavailable(Exception):
    """bovine-herd could not be installed or started: the bench says why and goes on."""


def install() -> Path:
    """The venv's bin directory, bovine-herd, bovine-tool and hypercorn installed once."""
    bin_dir = VENV / "bin"
    if not (bin_dir / "hypercorn").exists():
        made = subprocess.run([sys.executable, "-m", "venv", str(VENV)], capture_output=True)
        if made.returncode:
            raise PeerUnavailable(f"python -m venv failed: {made.stderr.decode()[-300:]}")
        pip = [str(bin_dir / "pip"), "install", "-q", "bovine-herd", "bovine-tool", "hypercorn"]
        done = subprocess.run(pip, capture_output=True)
        if done.returncode:
            raise PeerUnavailable(f"pip install bovine-herd failed: {done.stderr.decode()[-300:]}")
    return bin_dir


class Bovine:
    def __init__(self, directory: Path, port: int) -> None:
        self.directory, self.port = directory, port
        self.base = f"http://127.0.0.1:{port}"
        self.database = directory / "bovine.sqlite3"
        self.env = {**os.environ, "BOVINE_DB_URL": f"sqlite://{self.database}"}
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self, bin_dir: Path) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "bovine_app.py").write_text(APP)
        log = (self.directory / "serve.log").open("ab")
        command = [str(bin_dir / "hypercorn"), "bovine_app:app", "--bind", f"127.0.0.1:{self.port}"]
        self.process = subprocess.Popen(  # noqa: ASYNC220 (it runs on; nothing waits)
            command, env=self.env, cwd=self.directory, stdout=log, stderr=log
        )
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                try:
                    await client.get(f"{self.base}/.well-known/nodeinfo")
                    return
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        raise PeerUnavailable(f"hypercorn bovine_herd did not start: {self.log()}")

    def log(self) -> str:
        path = self.directory / "serve.log"
        return path.read_text(errors="replace")[-500:] if path.exists() else ""

    def register(self, bin_dir: Path) -> tuple[str, str]:
        """A new actor: its id and its inbox URL."""
        command = [str(bin_dir / "python"), "-m", "bovine_tool.register"]
        done = subprocess.run(
            [*command, "--domain", self.base, "bench"],
            env=self.env, cwd=self.directory, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode:
            raise PeerUnavailable(f"bovine_tool.register failed: {done.stderr[-300:]}")
        with sqlite3.connect(self.database) as conn:
            rows = dict(conn.execute("SELECT endpoint_type, name FROM bovineactorendpoint"))
        if "ACTOR" not in rows or "INBOX" not in rows:
            raise PeerUnavailable(f"no actor or inbox in bovine's database: {rows}")
        return str(rows["ACTOR"]), str(rows["INBOX"])

    def stored(self, pattern: str) -> int:
        with sqlite3.connect(self.database, timeout=30) as conn:
            sql = "SELECT count(*) FROM storedjsonobject WHERE id LIKE ? AND id NOT LIKE '%#%'"
            return int(conn.execute(sql, (pattern,)).fetchone()[0])

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


async def run_bovine(
    directory: Path,
    port: int,
    requests_for: Callable[[str, str], tuple[list[tuple[bytes, dict[str, str]]], str]],
    load: Callable[..., Awaitable[tuple[float, list[float], dict[int, int]]]],
    cpu_of: Callable[[int], float],
    *,
    concurrency: int,
    wait_seconds: float,
) -> dict[str, Any]:
    """The same load against bovine-herd: ``requests_for(actor, inbox)`` gives the signed
    requests and the LIKE pattern of their objects' ids."""
    bin_dir = install()
    peer = Bovine(directory, port)
    try:
        await peer.start(bin_dir)
        actor, inbox = peer.register(bin_dir)
        requests, pattern = requests_for(actor, inbox)
        assert peer.process is not None
        cpu0 = cpu_of(peer.process.pid)
        loop = asyncio.get_running_loop()
        start = loop.time()
        elapsed, latencies, statuses = await load(inbox, requests, concurrency)
        accepted = sum(n for status, n in statuses.items() if 200 <= status < 300)
        count, last, moved_at = 0, -1, loop.time()
        while loop.time() - start < wait_seconds and loop.time() - moved_at < STALL_SECONDS:
            count = peer.stored(pattern)
            if count >= accepted:
                break
            if count != last:
                last, moved_at = count, loop.time()
            await asyncio.sleep(0.25)
        return {
            "engine": "sqlite",
            "statuses": statuses,
            "accepted": accepted,
            "elapsed": elapsed,
            "latencies": latencies,
            "stored": count,
            "stored_elapsed": loop.time() - start,
            "cpu_s": cpu_of(peer.process.pid) - cpu0,
        }
    finally:
        peer.stop()
