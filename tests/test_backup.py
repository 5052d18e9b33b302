"""Back up a running instance, restore it elsewhere under the same domain, and federation goes on:
the follower's server verifies the restored instance's signatures with the key it had cached.

Also: a backup is private and never half-written, and a restore refuses whatever could lose data
(a database holding actors, a running instance, a damaged or foreign file).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import stat
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from instance.backup import BackupError, run_backup
from instance.config import load_config
from tests import offer_samples as samples
from tests.rig.database import fresh_database_url, is_postgres
from tests.rig.instances import CliResult, Instance, Rig

ROOT = Path(__file__).resolve().parent.parent
OLD_SCHEMA = "0005_admin"
MIGRATE_TO = """
import asyncio, sys
from tortoise import Tortoise
from tortoise.migrations.api import migrate
from models.db import tortoise_config

async def main(url, target):
    await migrate(config=tortoise_config(url), target=f"models.{target}")
    await Tortoise.close_connections()

asyncio.run(main(*sys.argv[1:]))
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_truncated(source: Path, dest: Path) -> None:
    """The first half of ``source``, as a backup cut short by a full disk would be."""
    whole = source.read_bytes()
    dest.write_bytes(whole[: len(whole) // 2])


def one_line_error(result: CliResult) -> str:
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("coopub: error: "), result.stderr
    return lines[0]


async def new_database_url(directory: Path, label: str) -> str:
    """SQLite: a file inside ``directory`` (in a folder that does not exist yet);
    PostgreSQL: a new empty database."""
    if is_postgres():
        return await fresh_database_url(label)
    return f"sqlite://{directory}/data/coopub.sqlite3"


async def sibling(of: Instance, name: str, root: Path) -> Instance:
    """A new directory with a copy of ``of``'s instance.toml (same domain, port and secret key)
    and a database URL of its own, not set up."""
    directory = root / name
    directory.mkdir()
    shutil.copy(of.config_path, directory / "instance.toml")
    instance = Instance(name, directory, of.port, await new_database_url(directory, name))
    instance.configure("database", url=instance.database_url)
    return instance


@dataclass
class World:
    root: Path
    a: Instance
    b: Instance
    velos: str
    backup: Path
    backup_result: CliResult
    offers_during_backup: int
    token: str
    cached_key: list[tuple[object, ...]]


async def write_offers(a: Instance, token: str, started: asyncio.Event, stop: asyncio.Event) -> int:
    """Publish offers on A until ``stop``: A's database is being written during the backup."""
    count = 0
    async with httpx.AsyncClient(base_url=a.base_url) as client:
        while not stop.is_set():
            r = await client.post(
                "/api/v1/offers",
                json=samples.ride(title=f"Pendant la sauvegarde {count}"),
                headers={"Authorization": f"Bearer {token}"},
            )
            assert r.status_code == 201, r.text
            count += 1
            started.set()
    return count


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    root: Path = tmp_path_factory.mktemp("backup")
    a = await Instance.create("a", root)
    b = await Instance.create("b", root)
    instances = [a, b]
    try:
        velos = await a.coop("velos")
        await a.member("alice", "velos")
        await b.coop("roues")
        await b.member("bob", "roues")
        out = await b.ok("follow", "bob", f"@velos@{a.domain}", "--wait", "10")
        assert out.strip().endswith("accepted"), out
        await Rig([a, b]).drain()
        cached_key = await b.query(
            f"SELECT public_key_pem, fetched_at FROM remote_actor WHERE ap_id = '{velos}'"
        )
        assert len(cached_key) == 1 and cached_key[0][0]

        token = (await a.ok("token", "create", "alice")).strip()
        (root / "backups").mkdir()
        backup = root / "backups" / "a.backup"
        started, stop = asyncio.Event(), asyncio.Event()
        writer = asyncio.create_task(write_offers(a, token, started, stop))
        await started.wait()  # the backup starts once a first offer went through
        result = await a.cli("backup", str(backup))
        stop.set()
        written = await writer
        await Rig([a, b]).drain()
        await a.stop()

        yield World(root, a, b, velos, backup, result, written, token, cached_key)
    finally:
        await Rig(instances).stop()


@dataclass
class Restoration:
    instance: Instance
    result: CliResult


@pytest.fixture(scope="module")
async def restoration(world: World) -> AsyncIterator[Restoration]:
    """A's backup restored under A's domain into a new database, and that instance started."""
    instance = await sibling(world.a, "a-restored", world.root)
    try:
        result = await instance.cli("restore", str(world.backup))
        assert result.returncode == 0, result.stderr
        await instance.start()
        yield Restoration(instance, result)
    finally:
        await Rig([instance]).stop()


async def test_backup_is_private_and_whole(world: World) -> None:
    assert world.backup_result.returncode == 0, world.backup_result.stderr
    assert f"backup written to {world.backup}" in world.backup_result.stdout
    assert mode(world.backup) == 0o600  # private keys and password hashes
    assert os.listdir(world.backup.parent) == [world.backup.name]  # no temporary file left
    magic = b"PGDMP" if is_postgres() else b"SQLite format 3\x00"
    assert world.backup.read_bytes().startswith(magic)

    # an existing file is never overwritten, whatever it holds
    before = world.backup.read_bytes()
    refused = one_line_error(await world.b.cli("backup", str(world.backup)))
    assert "already exists" in refused
    assert world.backup.read_bytes() == before
    assert os.listdir(world.backup.parent) == [world.backup.name]


async def test_restored_instance_federates_with_the_cached_key(
    world: World, restoration: Restoration
) -> None:
    a, b, restored = world.a, world.b, restoration.instance
    assert "ready for `coopub serve`" in restoration.result.stdout, restoration.result.stdout
    if not is_postgres():
        db = Path(restored.database_url.removeprefix("sqlite://"))
        assert mode(db) == 0o600
        assert mode(db.parent) == 0o700

    # the same actors with the same keys; the offers of a consistent moment during the writes
    actors = "SELECT username, public_key_pem, private_key_pem FROM local_actor ORDER BY username"
    assert await restored.query(actors) == await a.query(actors)
    offers = "SELECT ap_id FROM offer ORDER BY id"
    kept, all_written = await restored.query(offers), await a.query(offers)
    assert len(kept) >= 1 and kept == all_written[: len(kept)]
    assert len(all_written) == world.offers_during_backup

    cached = f"SELECT public_key_pem, fetched_at FROM remote_actor WHERE ap_id = '{world.velos}'"

    # an offer (with the token from the backup), boosted by the coop to its follower on B:
    # B verifies the coop's signature with the key it had cached, and does not refetch it
    async with httpx.AsyncClient(base_url=restored.base_url) as client:
        r = await client.post(
            "/api/v1/offers",
            json=samples.ride(title="Après la restauration"),
            headers={"Authorization": f"Bearer {world.token}"},
        )
    assert r.status_code == 201, r.text
    await Rig([restored, b]).drain()
    assert await b.query(f"SELECT title FROM offer WHERE ap_id = '{r.json()['ap_id']}'") == [
        ("Après la restauration",)
    ]
    assert await b.query(cached) == world.cached_key

    # a profile change, signed with the same key, is accepted too
    await restored.ok("actor", "update", "velos", "--name", "Vélos restaurés")
    await Rig([restored, b]).drain()
    assert await b.query(f"SELECT name FROM remote_actor WHERE ap_id = '{world.velos}'") == [
        ("Vélos restaurés",)
    ]
    assert (await b.query(cached))[0][0] == world.cached_key[0][0]
    assert await restored.query(
        "SELECT d.state FROM delivery d JOIN activity a ON a.id = d.activity_id"
        " WHERE a.type = 'Update'"
    ) == [("delivered",)]
    assert "request refused" not in b.log()


async def test_restore_never_loses_what_is_stored(world: World, restoration: Restoration) -> None:
    restored = restoration.instance
    count = "SELECT COUNT(*) FROM local_actor"
    actors = await restored.query(count)
    await restored.ok("actor", "update", "velos", "--name", "Vélos modifiés")  # what --force undoes

    refused = one_line_error(await restored.cli("restore", str(world.backup)))
    assert "already holds" in refused and "--force" in refused
    refused = one_line_error(await restored.cli("restore", str(world.backup), "--force"))
    assert "in use" in refused and "stop coopub" in refused  # still running

    await restored.stop()
    result = await restored.cli("restore", str(world.backup), "--force")
    assert result.returncode == 0, result.stderr
    assert await restored.query(count) == actors
    assert await restored.query("SELECT name FROM local_actor WHERE username = 'velos'") == [
        ("Velos",)  # as it was in the backup, before the update
    ]


async def test_damaged_and_foreign_files_are_refused(world: World) -> None:
    target = await sibling(world.a, "a-scratch", world.root)
    files = world.root / "files"
    files.mkdir()
    whole = world.backup.read_bytes()

    truncated = files / "truncated"
    write_truncated(world.backup, truncated)
    refused = one_line_error(await target.cli("restore", str(truncated), "--force"))
    assert "damaged" in refused

    garbage = files / "garbage"
    garbage.write_bytes(b"not a backup at all\n" * 50)
    refused = one_line_error(await target.cli("restore", str(garbage)))
    assert "not a coopub backup" in refused

    other = files / "other-engine"
    if is_postgres():
        conn = sqlite3.connect(other)
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
        expected = "restore it into a SQLite database"
    else:
        other.write_bytes(b"PGDMP" + whole[5:])
        expected = "restore it into a PostgreSQL database"
    refused = one_line_error(await target.cli("restore", str(other)))
    assert expected in refused

    missing = one_line_error(await target.cli("restore", str(files / "nothing")))
    assert "not found" in missing

    # nothing was made of the target database
    if is_postgres():
        assert await target.query("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'") == [
            (0,)
        ]
    else:
        db = Path(target.database_url.removeprefix("sqlite://"))
        assert os.listdir(db.parent) == []  # neither the database nor a temporary file


async def test_an_older_backup_asks_for_migrate(world: World) -> None:
    old = await sibling(world.a, "old", world.root)
    if not is_postgres():
        Path(old.database_url.removeprefix("sqlite://")).parent.mkdir()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", MIGRATE_TO, old.database_url, OLD_SCHEMA, cwd=ROOT
    )
    assert await proc.wait() == 0
    backup = world.root / "backups-old" / "old.backup"
    backup.parent.mkdir()
    result = await old.cli("backup", str(backup))
    assert result.returncode == 0, result.stderr
    assert f"schema {OLD_SCHEMA}" in result.stdout

    target = await sibling(world.a, "old-restored", world.root)
    result = await target.cli("restore", str(backup))
    assert result.returncode == 0, result.stderr
    assert f"schema {OLD_SCHEMA}" in result.stdout
    assert "run `coopub migrate`" in result.stdout
    await target.ok("migrate")
    migrations = await target.query("SELECT name FROM tortoise_migrations ORDER BY name")
    assert migrations[-1] > (OLD_SCHEMA,)


async def test_a_failed_backup_leaves_no_file(world: World) -> None:
    broken = await sibling(world.a, "broken", world.root)
    if is_postgres():
        broken.configure("database", url=f"{broken.database_url}_missing")
        expected = "createdb"
    else:  # a damaged database file
        db = Path(broken.database_url.removeprefix("sqlite://"))
        db.parent.mkdir()
        write_truncated(world.backup, db)
        expected = "malformed"
    folder = world.root / "backups-broken"
    folder.mkdir()
    refused = one_line_error(await broken.cli("backup", str(folder / "broken.backup")))
    assert expected in refused
    assert os.listdir(folder) == []
    # the CLI checks the database first; run_backup's own checks and clean-up, past that one
    with pytest.raises(BackupError) as raised:
        await run_backup(load_config(broken.config_path), folder / "direct.backup")
    assert expected in raised.value.public_message
    assert os.listdir(folder) == []
