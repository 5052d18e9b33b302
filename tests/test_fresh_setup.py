"""README's set-up, word for word: `coopub init` then `coopub serve` give a working instance."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from tests.rig.instances import free_port

COOPUB = str(Path(sys.executable).parent / "coopub")
README = Path(__file__).resolve().parent.parent / "README.md"
AS2 = {"Accept": "application/activity+json"}


def readme_setup_command() -> str:
    """The `coopub init …` part of README's set-up command (pip install is done already)."""
    match = re.search(r"coopub init [^\n&`]*", README.read_text())
    assert match, "README must show the coopub init command"
    return match.group(0).strip()


async def _run(*args: str, cwd: Path, env: dict[str, str]) -> str:
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


@contextlib.asynccontextmanager
async def serving(cwd: Path, env: dict[str, str], base: str) -> AsyncIterator[httpx.AsyncClient]:
    """`coopub serve` in ``cwd`` until the block ends; yields a client once it answers."""
    server = await asyncio.create_subprocess_exec(
        COOPUB,
        "serve",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(150):
                try:
                    if (await client.get("/.well-known/nodeinfo")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("coopub serve did not answer within 15 s")
            yield client
    finally:
        server.terminate()
        await server.wait()


async def test_init_then_serve(tmp_path: Path) -> None:
    port = free_port()
    command = readme_setup_command().replace("localhost:8000", f"127.0.0.1:{port}")
    args = command.split()
    env = {k: v for k, v in os.environ.items() if k != "COOPUB_CONFIG"}
    # no --port: the port in --domain is the one `coopub serve` listens on
    await _run(COOPUB, *args[1:], cwd=tmp_path, env=env)
    config, database = tmp_path / "instance.toml", tmp_path / "data" / "coopub.sqlite3"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # holds the secret key
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700
    await _run(COOPUB, "coop", "create", "velos", "--title", "Vélos", cwd=tmp_path, env=env)

    base = f"http://127.0.0.1:{port}"
    async with serving(tmp_path, env, base) as client:
        wf = await client.get(f"/.well-known/webfinger?resource=acct:velos@127.0.0.1:{port}")
        assert wf.status_code == 200
        href = next(link["href"] for link in wf.json()["links"] if link["rel"] == "self")
        coop = (await client.get(href, headers=AS2)).json()
        assert (coop["id"], coop["type"]) == (href, "Group")
        instance_actor = (await client.get("/actor")).json()
        assert instance_actor["type"] == "Application"
        links = {
            link["rel"]: link["href"]
            for link in (await client.get("/.well-known/nodeinfo")).json()["links"]
        }
        assert links["https://www.w3.org/ns/activitystreams#Application"] == f"{base}/actor"
        schema = "http://nodeinfo.diaspora.software/ns/schema/2.1"
        info = (await client.get(links[schema].removeprefix(base))).json()
        assert info["software"]["name"] == "coopub"
        assert info["protocols"] == ["activitypub"]
        assert info["metadata"]["coops"] == 1

    # keys survive a restart: the instance actor's key is the same after `coopub migrate`
    await _run(COOPUB, "migrate", cwd=tmp_path, env=env)
    async with serving(tmp_path, env, base) as client:
        after = (await client.get("/actor")).json()["publicKey"]["publicKeyPem"]
    assert after == instance_actor["publicKey"]["publicKeyPem"]
