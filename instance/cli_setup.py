"""``coopub init``, ``migrate``, ``serve``, ``worker``, ``backup`` and ``restore``."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tomllib
from pathlib import Path

from activitypub.urls import Urls
from federation.services.accounts import ensure_instance_actor
from federation.services.directory import ensure_directory_actor
from instance.app import build_federation
from instance.config import Config, config_path, load_config, parse_config, set_setting
from models.db import check_database, close_db, migrate_database, open_db

EXAMPLE = Path(__file__).resolve().parent.parent / "instance.example.toml"


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read (instance.toml holds the secret key and the
    database password), even when it existed with a looser mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


async def setup_database(config: Config) -> None:
    """Create (SQLite) or reach (PostgreSQL) the database, migrate it, and make sure the
    instance actor (and the directory actor in directory mode) exists."""
    url = config.database_url
    await migrate_database(url)
    await open_db(url)
    urls = build_federation(config).urls
    try:
        actor = await ensure_instance_actor(urls.hostname, config.instance.title)
        print(f"instance actor: {urls.actor(actor)} ({actor.username})")
        if config.directory.enabled:
            directory = await ensure_directory_actor(
                config.directory.name, config.directory.description
            )
            print(f"directory actor: {urls.actor(directory)}")
    finally:
        await close_db()


def cmd_init(args: argparse.Namespace) -> None:
    path = Path(args.config) if args.config else config_path()
    if path.exists() and not args.force:
        print(f"{path} exists; keeping it (use --force to overwrite)")
    else:
        text = EXAMPLE.read_text(encoding="utf-8")
        text = set_setting(text, "instance", "domain", args.domain)
        text = set_setting(text, "instance", "scheme", args.scheme)
        text = set_setting(text, "instance", "secret_key", secrets.token_urlsafe(32))
        if args.title:
            text = set_setting(text, "instance", "title", args.title)
        if args.database_url:
            text = set_setting(text, "database", "url", args.database_url)
        if args.allow_private_addresses:
            text = set_setting(text, "federation", "allow_private_addresses", True)
        # checked before anything is written: a bad --domain leaves no file behind
        port = args.port or parse_config(tomllib.loads(text), path.resolve()).instance.port
        if port:
            text = set_setting(text, "server", "port", port)
        parse_config(tomllib.loads(text), path.resolve())
        write_private(path, text)
        print(f"wrote {path}")
    config = load_config(path)
    asyncio.run(setup_database(config))
    home = Urls(config.instance.base_url).url("home")
    print(f"ready: run `coopub serve` and open {home}")


def cmd_migrate(args: argparse.Namespace) -> None:
    asyncio.run(setup_database(load_config()))
    print("database up to date")


def _level(args: argparse.Namespace) -> str:
    return str(getattr(args, "log_level", None) or "INFO")


def cmd_serve(args: argparse.Namespace) -> None:
    from instance.processes import serve, serve_layout

    config = load_config()
    asyncio.run(check_database(config.database_url))
    layout = serve_layout(
        config, web=args.web_processes, workers=args.processes, no_worker=args.no_worker
    )
    host, port = args.host or config.server.host, args.port or config.server.port
    serve(config, layout, host, port, _level(args))


def cmd_worker(args: argparse.Namespace) -> None:
    from instance.processes import run_on_fast_loop, run_worker, run_workers, worker_count

    config = load_config()
    count = worker_count(config, args.processes)
    if count == 1:
        run_on_fast_loop(run_worker(config))
        return
    asyncio.run(check_database(config.database_url))
    run_workers(config, count, _level(args))


def cmd_backup(args: argparse.Namespace) -> None:
    from instance.backup import run_backup

    config = load_config()
    # an unmigrated database may be saved (a backup before `coopub migrate` is wise)
    asyncio.run(check_database(config.database_url, require_migrated=False))
    print(asyncio.run(run_backup(config, Path(args.file))))


def cmd_restore(args: argparse.Namespace) -> None:
    from instance.backup import run_restore

    config = load_config()  # the database may be missing or empty: that is what restore fixes
    print(asyncio.run(run_restore(config, Path(args.file), force=args.force)))
