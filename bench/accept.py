"""CPU of accepting one signed inbox POST, in process: the whole ASGI stack (observer, security
headers, NUL refusal, API rate limit, sessions, routing), the signature check, the key owner's
read and the inbox row's INSERT; no HTTP parsing, no socket, no worker.

    .venv/bin/python bench/accept.py -n 2000

Every request is signed before timing starts (signing is the client's cost, not the server's),
each with its own activity id. Prints CPU ms per POST (``time.process_time``) and wall ms.
SQLite in a temporary directory, or ``--database-url postgres://…/empty_db`` (its tables are
created by the migrations; use a database of your own, it is written to).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from federation.context import Federation, SiteInfo
from federation.services.accounts import ensure_instance_actor
from federation.services.handlers import inbox_handlers
from federation.settings import FederationSettings
from federation.signatures import generate_rsa_keypair, sign_request
from instance.app import create_app
from instance.config import parse_config
from models.actors import RemoteActor
from models.db import close_db, open_db
from models.delivery import Host

DOMAIN = "bench.example"
REMOTE = "https://remote.example"


def _request(body: bytes, headers: dict[str, str]) -> tuple[dict[str, Any], bytes]:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/inbox",
        "raw_path": b"/inbox",
        "query_string": b"",
        "root_path": "",
        "headers": raw,
        "client": ("192.0.2.1", 40000),
        "server": (DOMAIN, 443),
    }
    return scope, body


async def run(n: int, database_url: str) -> None:
    if os.environ.get("BENCH_DEBUG"):
        from instance.logs import setup_logging

        setup_logging("INFO")
    await open_db(database_url, run_migrations=True)
    try:
        settings = FederationSettings(allow_private_addresses=True)
        fed = Federation.create(
            settings, f"https://{DOMAIN}", SiteInfo("Bench", "", ("en",)), handlers=inbox_handlers()
        )
        await ensure_instance_actor(DOMAIN, "Bench")
        private_pem, public_pem = generate_rsa_keypair()
        actor_id = f"{REMOTE}/users/zoe"
        await RemoteActor.create(
            ap_id=actor_id,
            type="Person",
            username="zoe",
            domain="remote.example",
            inbox=f"{actor_id}/inbox",
            key_id=f"{actor_id}#main-key",
            public_key_pem=public_pem,
            fetched_at=datetime.now(UTC),
        )
        await Host.get_or_create(domain="remote.example")
        config = parse_config(
            {
                "instance": {"domain": DOMAIN, "secret_key": "bench"},
                "database": {"url": database_url},
                "limits": {"inbox_per_minute": 0},
            }
        )
        app = create_app(config, run_worker=False, fed=fed)
        warm = 100
        requests = []
        for i in range(n + warm):
            activity = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{actor_id}/follows/{i}",
                "type": "Follow",
                "actor": actor_id,
                "object": f"https://{DOMAIN}/actor",
            }
            body = json.dumps(activity).encode()
            headers = sign_request(
                "POST",
                f"https://{DOMAIN}/inbox",
                {"Content-Type": "application/activity+json"},
                body,
                f"{actor_id}#main-key",
                private_pem,
            )
            requests.append(_request(body, headers))
        statuses: dict[int, int] = {}

        async def post(scope: dict[str, Any], body: bytes) -> None:
            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    statuses[message["status"]] = statuses.get(message["status"], 0) + 1
                elif message["type"] == "http.response.body" and os.environ.get("BENCH_DEBUG"):
                    print(message.get("body", b"")[:300])

            await app(scope, receive, send)

        for scope, body in requests[:warm]:
            await post(scope, body)
        statuses.clear()
        cpu, wall = time.process_time(), time.perf_counter()
        for scope, body in requests[warm:]:
            await post(scope, body)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await fed.aclose()
    finally:
        await close_db()
    engine = database_url.split(":", 1)[0]
    print("| engine | N | CPU ms/POST | wall ms/POST | statuses | load |")
    print("|---|---|---|---|---|---|")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"| {engine} | {n} | {1000 * cpu / n:.2f} | {1000 * wall / n:.2f} | {statuses} | {load} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="coopub-bench-accept-") as tmp:
        url = args.database_url or f"sqlite://{tmp}/accept.sqlite3"
        asyncio.run(run(args.n, url))


if __name__ == "__main__":
    main()
