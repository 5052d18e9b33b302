"""The `coopub` command line as an admin meets it: real processes, real databases (SQLite or
PostgreSQL per COOPUB_TEST_DATABASE_URL). Every failure is one stderr line and an exit code."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
import asyncpg
import pytest

from instance.cli import _report, parser
from models.db import migration_names
from tests.rig.canned import document_at, keypair
from tests.rig.database import fresh_database_url, is_postgres
from tests.rig.instances import free_port
from tests.rig.remote import RemoteServer
from tests.skips import POSTGRES_CHECK

COOPUB = str(Path(sys.executable).parent / "coopub")
ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("tortoise", "uvicorn", "httpx", "cryptography", "starlette", "pyld", "pydantic")
PASSWORD = "correct horse battery\n"


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def line(self) -> str:
        """The one stderr line of a failure (asserts there is exactly one)."""
        lines = self.err.splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith("coopub: error: "), self.err
        return lines[0]


async def run(*args: str, cwd: Path, stdin: str | None = None) -> Run:
    """`coopub ARGS` in ``cwd``, finding ``cwd``/instance.toml (COOPUB_CONFIG unset)."""
    env = {k: v for k, v in os.environ.items() if k != "COOPUB_CONFIG"}
    proc = await asyncio.create_subprocess_exec(
        COOPUB,
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    return Run(proc.returncode or 0, out.decode(), err.decode())


@dataclass
class Site:
    """An instance set up with `coopub init` (not serving): the CLI alone is under test."""

    directory: Path
    database_url: str
    domain: str

    async def __call__(self, *args: str, stdin: str | None = None) -> Run:
        return await run(*args, cwd=self.directory, stdin=stdin)

    async def ok(self, *args: str, stdin: str | None = None) -> str:
        result = await self(*args, stdin=stdin)
        assert result.code == 0, f"coopub {' '.join(args)}: {result.err}"
        return result.out

    async def execute(self, sql: str) -> None:
        await execute(self.database_url, sql)


async def execute(url: str, sql: str) -> None:
    if url.startswith("sqlite://"):
        async with aiosqlite.connect(url[len("sqlite://") :]) as conn:
            await conn.execute(sql)
            await conn.commit()
        return
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def init_site(directory: Path, database_url: str) -> Site:
    os.makedirs(directory, exist_ok=True)
    domain = f"127.0.0.1:{free_port()}"
    out = await run(
        "init",
        "--domain",
        domain,
        "--scheme",
        "http",
        "--database-url",
        database_url,
        "--allow-private-addresses",
        cwd=directory,
    )
    assert out.code == 0, out.err
    return Site(directory, database_url, domain)


@pytest.fixture(scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    root = tmp_path_factory.mktemp("cli")
    site = await init_site(root / "site", await fresh_database_url("cli"))
    await site.ok("coop", "create", "velos", "--title", "Vélos")
    await site.ok("coop", "create", "roues", "--locked")
    await site.ok(
        "member", "create", "alice", "--coop", "velos", "--email", "a@example.org",
        "--password-stdin", stdin=PASSWORD,
    )  # fmt: skip
    return site


# --- fast help, and help everywhere ----------------------------------------------------------


def _imported(importtime_stderr: str) -> set[str]:
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize(
    "args", [["--help"], ["--version"], ["member", "create", "--help"], ["follow", "--help"]]
)
async def test_help_and_version_import_nothing_heavy(args: list[str], tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-X",
        "importtime",
        COOPUB,
        *args,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert out.decode().startswith(("usage: coopub", "coopub "))
    imported = _imported(err.decode())
    assert "argparse" in imported  # the import log was read
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


async def test_building_the_parser_imports_nothing_heavy() -> None:
    code = (
        "import sys\nfrom instance.cli import parser\nparser()\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert out.decode().strip() == "[]"


def _parsers(p: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [p]
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += _parsers(child)
    return found


def test_every_option_and_command_has_help() -> None:
    parsers = _parsers(parser())
    assert len(parsers) > 30
    for p in parsers:
        for action in p._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help and action.help.strip(), (p.prog, action.dest)
            if isinstance(action, argparse._SubParsersAction):
                helped = {a.dest: a.help for a in action._choices_actions}
                for name in action.choices:
                    assert helped.get(name), f"{p.prog} {name} has no help"


async def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    result = await run("member", "create", "bob", cwd=tmp_path)
    assert result.code == 2
    assert "--coop" in result.line and "`coopub member create --help`" in result.line


@pytest.mark.parametrize("command", [["serve"], ["init", "--domain", "velos.example"]])
@pytest.mark.parametrize("port", ["99999", "0", "eighty"])
async def test_a_port_out_of_range_is_refused_not_wrapped(
    command: list[str], port: str, tmp_path: Path
) -> None:
    result = await run(*command, "--port", port, cwd=tmp_path)
    assert result.code == 2
    assert "is not a port number (1-65535)" in result.line
    assert not (tmp_path / "instance.toml").exists()


@pytest.mark.parametrize(
    ("option", "count", "expected"),
    [
        (["serve", "--web-processes"], "0", "0 processes: at least 1"),
        (["serve", "--processes"], "two", "'two' is not a number of processes"),
        (["worker", "--processes"], "-3", "-3 processes: at least 1"),
    ],
)
async def test_a_process_count_below_one_is_refused(
    option: list[str], count: str, expected: str, tmp_path: Path
) -> None:
    result = await run(*option, count, cwd=tmp_path)
    assert result.code == 2
    assert f"argument {option[1]}: {expected}" in result.line


# --- failures are one line, never a traceback -------------------------------------------------


async def test_missing_sqlite_database_is_not_created(tmp_path: Path) -> None:
    site = await init_site(tmp_path / "site", f"sqlite://{tmp_path}/db/coopub.sqlite3")
    database = tmp_path / "db" / "coopub.sqlite3"
    database.unlink()
    for args in (["coop", "list"], ["serve"], ["worker"], ["member", "list"]):
        result = await site(*args)
        assert result.code == 1, result
        assert result.line == (
            f"coopub: error: database {database} does not exist: "
            "run `coopub init` or `coopub migrate`"
        )
        assert not database.exists()
    backup = await site("backup", str(tmp_path / "x.backup"))
    assert backup.code == 1 and "does not exist: run `coopub init`" in backup.line
    # restore is a way back for a missing database: it checks the backup, not the database
    restore = await site("restore", str(tmp_path / "x.backup"))
    assert restore.code == 1 and "coopub init" not in restore.line
    assert str(tmp_path / "x.backup") in restore.line
    assert not database.exists()
    # `coopub migrate` is the other way back
    await site.ok("migrate")
    assert await site.ok("coop", "list") == ""


async def test_unmigrated_database_is_refused(tmp_path: Path) -> None:
    url = await fresh_database_url("unmigrated")
    site = await init_site(tmp_path / "site", url)
    names = sorted(migration_names())
    await site.execute(f"DELETE FROM tortoise_migrations WHERE name = '{names[-1]}'")
    for args in (["coop", "list"], ["serve"], ["worker"]):
        result = await site(*args)
        assert result.code == 1
        assert f"needs migrating (1 pending, up to {names[-1]}): run `coopub migrate`" in (
            result.line
        )
    await site.execute("DROP TABLE tortoise_migrations")
    result = await site("coop", "list")
    assert result.code == 1 and f"needs migrating ({len(names)} pending" in result.line


async def test_empty_sqlite_file_needs_migrating(tmp_path: Path) -> None:
    site = await init_site(tmp_path / "site", f"sqlite://{tmp_path}/coopub.sqlite3")
    (tmp_path / "coopub.sqlite3").write_bytes(b"")
    result = await site("coop", "list")
    assert result.code == 1 and "needs migrating" in result.line


async def test_unreachable_postgresql(tmp_path: Path) -> None:
    site = await init_site(tmp_path / "site", f"sqlite://{tmp_path}/coopub.sqlite3")
    url = f"postgres://coopub:secret@127.0.0.1:{free_port()}/coopub"
    config = tmp_path / "site" / "instance.toml"
    config.write_text(config.read_text().replace(f"sqlite://{tmp_path}/coopub.sqlite3", url))
    for args in (["coop", "list"], ["serve"], ["migrate"]):
        result = await site(*args)
        assert result.code == 1
        assert "cannot connect to PostgreSQL database coopub on 127.0.0.1:" in result.line
        assert "secret" not in result.line


@pytest.mark.skipif(not is_postgres(), reason=POSTGRES_CHECK)  # listed in tests/skips.py
async def test_missing_postgresql_database(tmp_path: Path) -> None:
    url = await fresh_database_url("missing")
    site = await init_site(tmp_path / "site", url)
    name = url.rsplit("/", 1)[1]
    await execute(url.rsplit("/", 1)[0] + "/postgres", f'DROP DATABASE "{name}" WITH (FORCE)')
    result = await site("coop", "list")
    assert result.code == 1
    assert f"PostgreSQL database {name} on" in result.line
    assert f"does not exist: create it (`createdb {name}`)" in result.line


async def test_config_error_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "instance.toml").write_text('[instance]\ndomain = "x.example"\nsecret_key = "k"\n'
                                            "[server]\nport = 99999\n")  # fmt: skip
    result = await run("coop", "list", cwd=tmp_path)
    assert result.code == 1
    assert result.line.endswith("[server] port = 99999: expected at most 65535")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = await run("coop", "list", cwd=empty)
    assert result.code == 1 and "not found: run `coopub init" in result.line


def test_unexpected_errors_are_one_line_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        raise KeyError("boom")
    except KeyError as exc:
        assert _report(exc, "INFO") == 1
        err = capsys.readouterr().err
        assert err.splitlines() == [
            "coopub: error: unexpected KeyError: 'boom': "
            "run with --log-level DEBUG for the traceback"
        ]
        assert _report(exc, "DEBUG") == 1
        err = capsys.readouterr().err
        assert "Traceback (most recent call last)" in err
        assert err.splitlines()[-1] == "coopub: error: unexpected KeyError: 'boom'"


async def test_member_create_without_a_terminal(site: Site) -> None:
    result = await site("member", "create", "bob", "--coop", "velos", "--email", "b@x.org")
    assert result.code == 1
    assert result.line == "coopub: error: no terminal to ask for a password: use --password-stdin"
    result = await site("member", "passwd", "alice")
    assert result.line == "coopub: error: no terminal to ask for a password: use --password-stdin"
    assert "@bob@" not in await site.ok("member", "list")


def _reading_stdin(pid: int) -> bool:
    """Whether the process sits in read(0, …) (Linux exposes the current system call)."""
    try:
        return Path(f"/proc/{pid}/syscall").read_text().startswith("0 0x0 ")
    except OSError:
        pytest.skip("/proc/PID/syscall is not readable here")


async def test_interrupt_exits_130_quietly(site: Site) -> None:
    proc = await asyncio.create_subprocess_exec(
        COOPUB,
        "member", "passwd", "alice", "--password-stdin",
        cwd=site.directory,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(300):
            if _reading_stdin(proc.pid):
                break
            await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 130
    assert err == b"" and out == b""


# --- follow outcomes ------------------------------------------------------------------------


async def test_follow_pending_refused_accepted(site: Site) -> None:
    roues = f"@roues@{site.domain}"
    pending = await site("follow", "alice", roues, "--wait", "0.2")
    assert pending.code == 3
    assert pending.out.strip().endswith(": pending")
    assert "still pending after 0.2 s: check later with `coopub follows list alice`" in (
        pending.line
    )
    await site.ok("follows", "reject", "roues", f"@alice@{site.domain}")
    refused = await site("follow", "alice", roues, "--wait", "0")
    assert refused.code == 1
    assert "refused" in refused.line and refused.out.strip().endswith(": rejected")
    accepted = await site("follow", "alice", f"@velos@{site.domain}")
    assert accepted.code == 0 and accepted.err == ""
    assert accepted.out.strip().endswith(": accepted")


async def test_directory_join_pending_and_refused(site: Site, remote: RemoteServer) -> None:
    doc = document_at(
        remote.url("/directory"), public_pem=keypair("a").public_pem, actor_type="Service"
    )
    remote.serve_json("/directory", doc)
    pending = await site("directory", "join", remote.base_url, "--wait", "0.2")
    assert pending.code == 3
    assert pending.out.strip() == f"{remote.url('/directory')}\tpending"
    assert "still pending after 0.2 s" in pending.line
    assert "check later with `coopub directory status`" in pending.line
    [follow] = remote.posts
    assert follow.json()["type"] == "Follow"

    remote.script_inbox("/directory/inbox", [(403, {}, "not listed here")])
    refused = await site("directory", "join", remote.base_url, "--wait", "0.2")
    assert refused.code == 1
    assert refused.line == (
        f"coopub: error: {remote.url('/directory/inbox')} did not take the request "
        "(HTTP 403: not listed here)"
    )

    remote.script_inbox("/directory/inbox", [(503, {}, "down for maintenance")])
    retrying = await site("directory", "join", remote.base_url, "--wait", "0.2")
    assert retrying.code == 3
    assert retrying.line.endswith("(not delivered yet: HTTP 503, retrying)"), retrying.line


def test_exit_codes_are_documented() -> None:
    epilogs = {p.prog: p.epilog or "" for p in _parsers(parser())}
    for prog in ("coopub follow", "coopub directory join", "coopub"):
        assert "3 still pending" in epilogs[prog] and "1 failed or refused" in epilogs[prog]


# --- accounts ---------------------------------------------------------------------------------


async def test_member_admin_commands(site: Site) -> None:
    handle = f"@carol@{site.domain}"
    await site.ok(
        "member", "create", "carol", "--coop", "velos", "--email", "c@example.org",
        "--password-stdin", stdin=PASSWORD,
    )  # fmt: skip
    assert "password changed" in await site.ok(
        "member", "passwd", "carol", "--password-stdin", stdin="another long password\n"
    )
    short = await site("member", "passwd", "carol", "--password-stdin", stdin="short\n")
    assert short.code == 1 and "at least 10 characters" in short.line

    assert "disabled" in await site.ok("member", "disable", "carol")
    assert f"{handle}\tcarol coop=velos disabled\t" in await site.ok("member", "list")
    assert "enabled" in await site.ok("member", "enable", "carol")
    assert f"{handle}\tcarol coop=velos\t" in await site.ok("member", "list")

    first = (await site.ok("token", "create", "carol", "--label", "ci")).strip()
    assert first.startswith("coopub_")
    await site.ok("token", "create", "carol")
    listing = await site.ok("token", "list", "carol")
    rows = [line.split("\t") for line in listing.splitlines()]
    assert [(r[1], r[2], r[4]) for r in rows] == [
        ("carol", "ci", "last used never"),
        ("carol", "-", "last used never"),
    ]
    assert first not in listing
    assert "revoked token" in await site.ok("token", "revoke", rows[0][0])
    assert len((await site.ok("token", "list", "carol")).splitlines()) == 1
    missing = await site("token", "revoke", rows[0][0])
    assert missing.code == 1 and f"No API token with id {rows[0][0]}" in missing.line

    refused = await site("member", "delete", "carol")
    assert refused.code == 1
    assert refused.line == (
        "coopub: error: refusing to delete member carol for good, offers included "
        "without confirmation: add --yes to confirm"
    )
    assert "deleted http://" in await site.ok("member", "delete", "carol", "--yes")
    assert f"{handle}\t(deleted) coop=velos deleted\t" in await site.ok("member", "list")
    assert (await site.ok("token", "list", "carol")).strip() == "no API tokens"
    again = await site(
        "member", "create", "carol", "--coop", "velos", "--email", "c@example.org",
        "--password-stdin", stdin=PASSWORD,
    )  # fmt: skip
    assert again.code == 1 and "stays reserved" in again.line
    gone = await site("member", "enable", "carol")
    assert gone.code == 1 and "carol is deleted" in gone.line


async def test_coop_update_and_delete(site: Site) -> None:
    await site.ok("coop", "create", "trains")
    out = await site.ok("coop", "update", "trains", "--title", "Trains", "--locked")
    assert out.strip() == f"updated http://{site.domain}/c/trains"
    assert f"\tTrains locked\thttp://{site.domain}/c/trains" in await site.ok("coop", "list")
    await site.ok("coop", "update", "trains", "--unlocked")
    assert f"\tTrains\thttp://{site.domain}/c/trains" in await site.ok("coop", "list")

    busy = await site("coop", "delete", "velos", "--yes")
    assert busy.code == 1 and "still has" in busy.line and "member(s)" in busy.line
    await site.ok("coop", "delete", "trains", "--yes")
    assert "(deleted) deleted" in await site.ok("coop", "list")
    not_coop = await site("coop", "update", "alice", "--title", "x")
    assert not_coop.code == 1 and "No coop named alice" in not_coop.line


# --- init ---------------------------------------------------------------------------------------


async def test_init_port_and_private_files(tmp_path: Path) -> None:
    port = free_port()
    result = await run("init", "--domain", f"127.0.0.1:{port}", "--scheme", "http", cwd=tmp_path)
    assert result.code == 0, result.err
    config = tmp_path / "instance.toml"
    assert f"\nport = {port}\n" in config.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    database = tmp_path / "data" / "coopub.sqlite3"
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    for extra in tmp_path.joinpath("data").iterdir():  # -wal, -shm if any
        assert stat.S_IMODE(extra.stat().st_mode) == 0o600, extra

    # an explicit --port wins; a domain without a port keeps the default
    other = tmp_path / "other"
    other.mkdir()
    await run("init", "--domain", f"127.0.0.1:{port}", "--port", "9100", cwd=other)
    assert "\nport = 9100\n" in (other / "instance.toml").read_text()
    plain = tmp_path / "plain"
    plain.mkdir()
    await run("init", "--domain", "velos.example", cwd=plain)
    assert "\nport = 8000\n" in (plain / "instance.toml").read_text()


async def test_init_with_a_bad_domain_writes_nothing(tmp_path: Path) -> None:
    result = await run("init", "--domain", "Velos.Example/x", cwd=tmp_path)
    assert result.code == 1 and "[instance] domain" in result.line
    assert os.listdir(tmp_path) == []
