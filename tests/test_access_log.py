"""The access log, request ids (echoed, and carried by every log line of a request), and log
hygiene (no escape sequences, one event per line)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import sys
from collections.abc import Awaitable, Callable, Iterator

import httpx
import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.context import Federation
from instance.app import create_app
from instance.config import parse_config
from instance.logs import KeyValueFormatter, log_handler
from models.actors import LocalActor
from tests.conftest import TEST_DOMAIN
from tests.rig.instances import free_port
from tests.rig.observe import app_client, resolved, until

# --- access log and request ids -----------------------------------------------------------------


def _access(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "coopub.access"]


async def test_request_ids_and_access_log(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="coopub.access")
    r = await client.get("/healthz?token=secret", headers={"X-Request-Id": "lb-42.a_B-c"})
    assert r.headers["x-request-id"] == "lb-42.a_B-c"
    [line] = _access(caplog)
    fields = line.__dict__
    assert line.getMessage() == "request"
    assert fields["method"] == "GET"
    assert fields["path"] == "/healthz"  # no query string: it may carry secrets
    assert fields["status"] == 200
    assert fields["request_id"] == "lb-42.a_B-c"
    assert fields["client"] == "127.0.0.1"
    assert isinstance(fields["duration_ms"], float) and fields["duration_ms"] >= 0

    generated = []
    for unsafe in ("has space", "x" * 65, 'quote"d', "back\\slash", ""):
        r = await client.get("/healthz", headers={"X-Request-Id": unsafe})
        generated.append(r.headers["x-request-id"])
    r = await client.get("/nowhere/at/all/here")
    assert r.status_code == 404
    generated.append(r.headers["x-request-id"])
    assert len(set(generated)) == 6  # each request its own id
    assert all(re.fullmatch("[0-9a-f]{16}", rid) for rid in generated)
    logged = _access(caplog)[1:]
    assert [rec.__dict__["request_id"] for rec in logged] == generated  # the same id, both ends
    assert logged[-1].__dict__["status"] == 404

    caplog.clear()
    caplog.set_level(logging.INFO)
    secret = "Zk3-secret-calendar-token"
    r = await client.get(f"/calendar/{secret}.ics")
    assert r.status_code == 404
    ours = [rec for rec in caplog.records if rec.name.split(".")[0] in ("coopub", "instance")]
    assert ours and not any(secret in str(rec.__dict__) for rec in ours)
    assert _access(caplog)[0].__dict__["path"] == "/calendar/<secret>"


async def test_access_log_can_be_turned_off(
    fed: Federation, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="coopub.access")
    async with app_client(fed, database_url, server={"access_log": False}) as c:
        r = await c.get("/healthz", headers={"X-Request-Id": "still-echoed"})
    assert r.headers["x-request-id"] == "still-echoed"
    assert _access(caplog) == []


def test_log_lines_carry_no_escape_sequences() -> None:
    """uvicorn's ``color_message`` (ANSI colours) is dropped; control characters in values, even
    those JSON leaves alone (C1 controls such as CSI), are escaped; one event, one line."""
    record = logging.makeLogRecord(
        {
            "name": "uvicorn.error",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "Started server process [%d]",
            "args": (42,),
            "color_message": "Started server process [\x1b[36m%d\x1b[0m]",
            "error": 'remote said "\x1b[31mred\r\nlevel=error msg=forged\x9b2J\x7f"',
        }
    )
    line = KeyValueFormatter().format(record)
    assert line.startswith("time=")
    assert 'msg="Started server process [42]"' in line
    assert "color_message" not in line
    assert "\n" not in line and "\r" not in line
    assert not any(c in line for c in "\x1b\x9b\x7f")
    assert "\\u001b[31mred" in line and "\\u009b" in line
    try:
        raise ValueError("bad\x1b[2Jvalue")
    except ValueError:
        record = logging.makeLogRecord({"msg": "failed", "exc_info": sys.exc_info()})
    text = KeyValueFormatter().format(record)
    assert "Traceback" in text and "\x1b" not in text and "bad\\u001b[2Jvalue" in text


# --- the request id on every line of a request ----------------------------------------------------

BAD_SIGNATURE = 'keyId="https://remote.example/users/zoe#main-key",signature=='


@pytest.fixture
def log_lines(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[str], list[str]]]:
    """The lines the production handler (``instance.logs.log_handler``) writes, at INFO, for one
    logger name: ``lines("coopub.access")``."""
    caplog.set_level(logging.INFO)
    stream = io.StringIO()
    handler = log_handler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda name: [
            line for line in stream.getvalue().splitlines() if f'logger="{name}"' in line
        ]
    finally:
        root.removeHandler(handler)


def _refused_post(client: httpx.AsyncClient, request_id: str) -> Awaitable[httpx.Response]:
    follow = {
        "id": f"https://remote.example/activities/{request_id}",
        "type": "Follow",
        "actor": "https://remote.example/users/zoe",
        "object": f"https://{TEST_DOMAIN}/c/velos",
    }
    headers = {
        "Content-Type": "application/activity+json",
        "Signature": BAD_SIGNATURE,
        "X-Request-Id": request_id,
    }
    return client.post("/inbox", content=json.dumps(follow), headers=headers)


async def test_a_handlers_log_lines_carry_the_request_id(
    client: httpx.AsyncClient, coop: LocalActor, log_lines: Callable[[str], list[str]]
) -> None:
    """A refused inbox POST logs why; that line and the access line share the request id, also
    when requests overlap; lines logged outside a request carry none."""
    answers = await asyncio.gather(*(_refused_post(client, f"sig-{n}") for n in range(3)))
    assert [r.status_code for r in answers] == [401, 401, 401]
    refused = log_lines("instance.errors")
    access = log_lines("coopub.access")
    assert len(refused) == len(access) == 3
    for n in range(3):
        [why] = [line for line in refused if f'request_id="sig-{n}"' in line]
        assert 'msg="request refused"' in why and "unparseable Signature header" in why
        [line] = [line for line in access if f'request_id="sig-{n}"' in line]
        assert 'path="/inbox"' in line and "status=401" in line

    generated = await _refused_post(client, "not an acceptable id")
    rid = generated.headers["x-request-id"]
    assert f'request_id="{rid}"' in log_lines("instance.errors")[-1]
    assert f'request_id="{rid}"' in log_lines("coopub.access")[-1]

    logging.getLogger("instance.errors").info("after the requests")
    [after] = [line for line in log_lines("instance.errors") if "after the requests" in line]
    assert "request_id" not in after


async def test_an_exception_escaping_a_request_is_logged_with_its_id(
    fed: Federation,
    database_url: str,
    log_lines: Callable[[str], list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """uvicorn logs an unhandled exception after the request's context has ended: its line
    still names the request (a real uvicorn server, a handler that fails)."""
    # As under `coopub serve` (uvicorn without a log config): uvicorn's records go to the root
    # handler, whatever uvicorn's default config (the remote rig's servers) left behind.
    monkeypatch.setattr(logging.getLogger("uvicorn"), "propagate", True)
    monkeypatch.setattr(logging.getLogger("uvicorn"), "handlers", [])
    instance = {"domain": TEST_DOMAIN, "secret_key": "test"}
    config = parse_config({"instance": instance, "database": {"url": database_url}})
    app = create_app(config, run_worker=False, fed=fed)

    async def broken(request: Request) -> Response:
        raise LookupError("a bug in a handler")

    app.router.routes.insert(0, Route("/broken", broken))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None)
    )
    serving = asyncio.create_task(server.serve())
    try:
        await until(lambda: resolved(server.started), "uvicorn listening")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            r = await http.get("/broken", headers={"X-Request-Id": "crash-1"})
        assert r.status_code == 500  # Starlette's outermost error handler answers, sans id
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)
    [crash] = [ln for ln in log_lines("uvicorn.error") if "Exception in ASGI application" in ln]
    assert 'request_id="crash-1"' in crash
    assert not any("request_id" in ln for ln in log_lines("uvicorn.error") if ln != crash)
    [line] = log_lines("coopub.access")
    assert 'request_id="crash-1"' in line and "status=500" in line
