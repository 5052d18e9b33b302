"""Real coopub instances for federation tests: each one a `coopub serve` process on its own
loopback port with its own database, set up and driven through the CLI, exactly as a host would.

``Rig.drain()`` waits until every instance's inbox and delivery queues are empty, which replaces
sleeping in tests.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
import httpx

from instance.config import set_setting
from tests.rig.database import fresh_database_url

COOPUB = str(Path(sys.executable).parent / "coopub")
AS2 = "application/activity+json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Instance:
    name: str
    directory: Path
    port: int
    database_url: str
    process: asyncio.subprocess.Process | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.directory / "serve.log"

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.domain}"

    @property
    def config_path(self) -> Path:
        return self.directory / "instance.toml"

    def env(self) -> dict[str, str]:
        return {**os.environ, "COOPUB_CONFIG": str(self.config_path)}

    @classmethod
    async def create(
        cls, name: str, root: Path, *, listing: dict[str, Any] | None = None, **federation: Any
    ) -> Instance:
        directory = root / name
        directory.mkdir(parents=True, exist_ok=True)
        instance = cls(name, directory, free_port(), await fresh_database_url(name))
        result = await instance.cli(
            "init",
            "--domain",
            instance.domain,
            "--scheme",
            "http",
            "--port",
            str(instance.port),
            "--database-url",
            instance.database_url,
            "--allow-private-addresses",
            "--title",
            f"Instance {name}",
        )
        assert result.returncode == 0, result.stderr
        # one web process running the worker, as before [server] web_processes: the served
        # tests start many instances on a machine of a few cores (tests/test_processes.py: more)
        text = instance.config_path.read_text()
        text = text.replace("# web_processes = 2\n", "web_processes = 1\n")
        text = text.replace("# processes = 2\n", "processes = 1\n")
        for key, value in {"worker_poll_seconds": 0.1, **federation}.items():
            text = set_setting(text, "federation", key, value)
        for key, value in (listing or {}).items():
            text = set_setting(text, "directory", key, value)
        instance.config_path.write_text(text)
        await instance.start()
        return instance

    async def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            COOPUB, "serve", env=self.env(), cwd=self.directory, stdout=log, stderr=log
        )
        log.close()
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.name} exited:\n{self.log()}")
                try:
                    if (await client.get(f"{self.base_url}/nodeinfo/2.1")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start:\n{self.log()}")

    def configure(self, section: str, **values: Any) -> None:
        """Change settings in instance.toml (takes effect at the next start)."""
        text = self.config_path.read_text()
        for key, value in values.items():
            text = set_setting(text, section, key, value)
        self.config_path.write_text(text)

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def cli(self, *args: str, stdin: str | None = None) -> CliResult:
        proc = await asyncio.create_subprocess_exec(
            COOPUB,
            *args,
            env=self.env(),
            cwd=self.directory,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
        return CliResult(proc.returncode or 0, out.decode(), err.decode())

    async def ok(self, *args: str, stdin: str | None = None) -> str:
        result = await self.cli(*args, stdin=stdin)
        assert result.returncode == 0, f"coopub {' '.join(args)}:\n{result.stderr}"
        return result.stdout

    async def coop(self, name: str, *flags: str) -> str:
        await self.ok("coop", "create", name, "--title", name.title(), *flags)
        return f"{self.base_url}/c/{name}"

    async def member(self, name: str, coop: str) -> str:
        await self.ok(
            "member",
            "create",
            name,
            "--coop",
            coop,
            "--email",
            f"{name}@example.org",
            "--password-stdin",
            stdin="correct horse battery\n",
        )
        return f"{self.base_url}/u/{name}"

    async def get_as2(self, path: str) -> Any:
        async with httpx.AsyncClient() as client:
            r = await client.get(f"{self.base_url}{path}", headers={"Accept": AS2})
            r.raise_for_status()
            return r.json()

    async def collection_items(self, path: str) -> list[Any]:
        items: list[Any] = []
        page: str | None = (await self.get_as2(path)).get("first")
        while page:
            doc = await self.get_as2(page.removeprefix(self.base_url))
            items.extend(doc.get("orderedItems", []))
            page = doc.get("next")
        return items

    async def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Read this instance's database directly (the test looks, it never writes)."""
        if self.database_url.startswith("sqlite://"):
            async with aiosqlite.connect(self.database_url[len("sqlite://") :]) as conn:
                return [tuple(r) for r in await conn.execute_fetchall(sql)]
        conn = await asyncpg.connect(self.database_url.replace("postgres://", "postgresql://", 1))
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    async def pending_work(self) -> int:
        rows = await self.query(
            "SELECT (SELECT COUNT(*) FROM delivery WHERE state = 'pending')"
            " + (SELECT COUNT(*) FROM inbox_item WHERE state = 'pending')"
        )
        return int(rows[0][0])


@dataclass
class Rig:
    instances: list[Instance]

    async def drain(self, within: float = 30.0) -> None:
        """Wait until no instance has pending inbox or delivery work (twice in a row)."""
        deadline = time.monotonic() + within
        quiet = 0
        while time.monotonic() < deadline:
            busy = sum([await i.pending_work() for i in self.instances])
            quiet = quiet + 1 if busy == 0 else 0
            if quiet >= 2:
                return
            await asyncio.sleep(0.1)
        logs = "\n".join(f"--- {i.name}\n{i.log()[-3000:]}" for i in self.instances)
        raise TimeoutError(f"queues not drained in {within} s\n{logs}")

    def configure(self, section: str, **values: Any) -> None:
        """Change settings in instance.toml (takes effect at the next start)."""
        text = self.config_path.read_text()
        for key, value in values.items():
            text = set_setting(text, section, key, value)
        self.config_path.write_text(text)

    async def stop(self) -> None:
        await asyncio.gather(*(i.stop() for i in self.instances))

    @staticmethod
    def cleanup(root: Path) -> None:
        shutil.rmtree(root, ignore_errors=True)
