"""Pytest helper that runs the independent Fedify peer (tests/peer/peer.mjs).

The peer is a separate ActivityPub implementation (Fedify 1.5, Node.js) with a
single actor ``peer`` and a small JSON control API under ``/_control/``.  See
``tests/peer/peer.mjs`` for the details.

Usage::

    if not node_available() and not in_ci():  # in CI a missing node fails (tests/skips.py)
        pytest.skip("Node.js >= 20 is not installed (scripts/setup)")
    peer = await FedifyPeer.start()
    try:
        await peer.follow("acct:alice@127.0.0.1:8000")
        await peer.wait_for(lambda s: s["following"].get(alice_id) == "accepted")
    finally:
        await peer.stop()

Environment:

* ``FEDIFY_PEER_LOG_LEVEL`` - Fedify's log level on the peer's stderr
  (``debug``, ``info`` (default), ``warning``, ``error``).
* ``FEDIFY_PEER_ECHO=1`` - copy the peer's stdout/stderr to this process's
  stderr as it arrives (otherwise it is kept in memory; see ``FedifyPeer.logs``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

PEER_DIR = Path(__file__).resolve().parent.parent / "peer"
PEER_SCRIPT = PEER_DIR / "peer.mjs"
READY_TIMEOUT = 30.0
MIN_NODE_MAJOR = 20

_install_lock = asyncio.Lock()


class PeerError(RuntimeError):
    """The peer's control API answered with an error."""

    def __init__(self, status: int, message: str, path: str) -> None:
        super().__init__(f"{path} -> HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.path = path


def node_available() -> bool:
    """True if a usable Node.js (>= 20) is on PATH and the peer can be installed."""
    node = shutil.which("node")
    if node is None:
        return False
    try:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    m = re.match(r"v(\d+)\.", out.strip())
    if m is None or int(m.group(1)) < MIN_NODE_MAJOR:
        return False
    return _installed() or shutil.which("npm") is not None


def _installed() -> bool:
    return (PEER_DIR / "node_modules" / "@fedify" / "fedify" / "package.json").is_file()


def _npm_install_blocking() -> None:
    # A cross-process lock, so parallel test workers install only once.
    lock_path = Path(tempfile.gettempdir()) / "coopub-fedify-peer-npm.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if _installed():
                return
            npm = shutil.which("npm")
            if npm is None:
                raise RuntimeError("npm is not installed; cannot install tests/peer")
            cmds = [[npm, "ci", "--no-audit", "--no-fund"]]
            if not (PEER_DIR / "package-lock.json").is_file():
                cmds = [[npm, "install", "--no-audit", "--no-fund"]]
            else:
                cmds.append([npm, "install", "--no-audit", "--no-fund"])
            errors = []
            for cmd in cmds:
                proc = subprocess.run(
                    cmd, cwd=PEER_DIR, capture_output=True, text=True, timeout=300
                )
                if proc.returncode == 0 and _installed():
                    return
                errors.append(f"$ {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
            raise RuntimeError("installing tests/peer failed:\n" + "\n".join(errors))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


async def ensure_installed() -> None:
    """Run ``npm ci`` in tests/peer once if node_modules is missing."""
    if _installed():
        return
    async with _install_lock:
        if not _installed():
            await asyncio.to_thread(_npm_install_blocking)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FedifyPeer:
    """Runs tests/peer/peer.mjs on a loopback port."""

    base_url: str
    domain: str
    actor_id: str
    handle: str  # "peer@127.0.0.1:PORT"

    def __init__(
        self, port: int, proc: asyncio.subprocess.Process, host: str = "127.0.0.1"
    ) -> None:
        self.port = port
        self.host = host
        self.domain = f"{host}:{port}"
        self.base_url = f"http://{self.domain}"
        self.actor_id = f"{self.base_url}/users/peer"
        self.inbox = f"{self.actor_id}/inbox"
        self.shared_inbox = f"{self.base_url}/inbox"
        self.followers_uri = f"{self.actor_id}/followers"
        self.handle = f"peer@{self.domain}"
        self.acct = f"acct:{self.handle}"
        self._proc = proc
        self._output: collections.deque[str] = collections.deque(maxlen=5000)
        self._drains: list[asyncio.Task[None]] = []
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=30.0, trust_env=False)

    # -- lifecycle ---------------------------------------------------------

    @classmethod
    async def start(cls, port: int | None = None) -> FedifyPeer:
        await ensure_installed()
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not installed")
        attempts = 1 if port is not None else 3
        last_error: Exception | None = None
        for _ in range(attempts):
            p = port if port is not None else free_port()
            try:
                return await cls._spawn(node, p)
            except _AddressInUse as e:  # raced with someone else for the port
                last_error = e
        assert last_error is not None
        raise last_error

    @classmethod
    async def _spawn(cls, node: str, port: int) -> FedifyPeer:
        env = dict(os.environ)
        env.setdefault("FEDIFY_PEER_LOG_LEVEL", "info")
        env.pop("NODE_OPTIONS", None)
        proc = await asyncio.create_subprocess_exec(
            node,
            str(PEER_SCRIPT),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            cwd=str(PEER_DIR),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        peer = cls(port, proc)
        ready = asyncio.get_running_loop().create_future()
        peer._drains = [
            asyncio.create_task(peer._drain(proc.stdout, "out", ready)),
            asyncio.create_task(peer._drain(proc.stderr, "err", None)),
        ]
        waiter = asyncio.create_task(proc.wait())
        try:
            done, _ = await asyncio.wait(
                {ready, waiter}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
            if ready not in done:
                # Let the drains collect the last output before reporting.
                await asyncio.sleep(0.2)
                output = peer.logs()
                await peer.stop()
                if waiter in done:
                    if "EADDRINUSE" in output:
                        raise _AddressInUse(f"port {port} in use:\n{output}")
                    raise RuntimeError(
                        f"fedify peer exited with {proc.returncode} before READY:\n{output}"
                    )
                raise TimeoutError(f"fedify peer not READY after {READY_TIMEOUT}s:\n{output}")
        finally:
            if not waiter.done():
                waiter.cancel()
        return peer

    async def _drain(
        self,
        stream: asyncio.StreamReader | None,
        name: str,
        ready: asyncio.Future[None] | None,
    ) -> None:
        if stream is None:
            return
        echo = os.environ.get("FEDIFY_PEER_ECHO") == "1"
        while True:
            try:
                raw = await stream.readline()
            except ValueError:  # line longer than the limit
                raw = await stream.read(65536)
            if not raw:
                break
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self._output.append(f"{name}: {line}")
            if echo:
                print(f"[fedify-peer {self.port} {name}] {line}", file=sys.stderr, flush=True)
            if ready is not None and not ready.done() and line.startswith("READY "):
                ready.set_result(None)

    async def stop(self) -> None:
        proc = self._proc
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout=5.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        for task in self._drains:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=2.0)
        await self._client.aclose()

    async def __aenter__(self) -> FedifyPeer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def logs(self) -> str:
        """The peer's captured stdout/stderr (Fedify logs, errors)."""
        return "\n".join(self._output)

    # -- control API -------------------------------------------------------

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict:
        resp = await self._client.request(method, path, json=body)
        try:
            data = resp.json()
        except ValueError:
            data = {"error": resp.text}
        if resp.status_code >= 400:
            msg = data.get("error", resp.text) if isinstance(data, dict) else resp.text
            raise PeerError(resp.status_code, str(msg), path)
        return data

    async def state(self) -> dict:
        """``{"followers": [...], "following": {id: status}, "received": [...], ...}``"""
        return await self._call("GET", "/_control/state")

    async def follow(self, target: str) -> dict:
        """Follow ``acct:user@host:port`` / ``user@host:port`` / an actor URL."""
        return await self._call("POST", "/_control/follow", {"target": target})

    async def unfollow(self, target: str) -> dict:
        return await self._call("POST", "/_control/unfollow", {"target": target})

    async def publish(self, content: str) -> dict:
        """Publish a public Note to the peer's followers; ``{"id", "activityId"}``."""
        return await self._call("POST", "/_control/publish", {"content": content})

    async def dm(
        self, to: str, text: str, *, in_reply_to: str | None = None, content: str | None = None
    ) -> dict:
        """Send a direct message as Mastodon does: ``Create{Note}`` to ``to`` (a handle or an
        actor URL) alone, a ``Mention`` tag, the text after the mention, ``inReplyTo`` when
        given (``content``: HTML sent as is instead). ``{"id", "activityId", "to"}``."""
        body: dict[str, Any] = {"to": to, "text": text}
        if in_reply_to is not None:
            body["inReplyTo"] = in_reply_to
        if content is not None:
            body["content"] = content
        return await self._call("POST", "/_control/dm", body)

    async def reply(
        self, to: str, in_reply_to: str, text: str, *, content: str | None = None
    ) -> dict:
        """A public reply as Mastodon sends one: ``Create{Note}`` to Public, cc the peer's
        followers and ``to`` (the author answered, mentioned), ``inReplyTo``.
        ``{"id", "activityId", "to"}``."""
        body: dict[str, Any] = {"to": to, "inReplyTo": in_reply_to, "text": text}
        if content is not None:
            body["content"] = content
        return await self._call("POST", "/_control/reply", body)

    async def like(self, to: str, obj: str) -> dict:
        """A favourite of ``obj``, sent to its author ``to``; ``{"id", "to"}``."""
        return await self._call("POST", "/_control/like", {"to": to, "object": obj})

    async def announce(self, to: str, obj: str) -> dict:
        """A boost of ``obj`` (to Public, cc ``to`` and the followers); ``{"id", "to"}``."""
        return await self._call("POST", "/_control/announce", {"to": to, "object": obj})

    async def undo(self, activity_id: str) -> dict:
        """``Undo`` of a favourite or a boost sent by ``like``/``announce``."""
        return await self._call("POST", "/_control/undo", {"id": activity_id})

    async def flag(self, to: str, objects: list[str], content: str = "") -> dict:
        """A report as Mastodon forwards one: ``Flag`` of ``objects`` (an account, then what it
        published) with ``content``, sent to ``to``'s inbox; ``{"id", "to"}``."""
        return await self._call(
            "POST", "/_control/flag", {"to": to, "objects": objects, "content": content}
        )

    async def move(self, target: str) -> dict:
        """The peer moves to ``target`` (an actor URL): ``Move`` to its followers;
        ``{"id", "target", "recipients"}``."""
        return await self._call("POST", "/_control/move", {"target": target})

    async def lookup(self, target: str) -> dict:
        """Signed GET of a remote object; ``{"object": <json-ld>, "document": <raw>}``."""
        return await self._call("POST", "/_control/lookup", {"target": target})

    async def clear(self) -> dict:
        """Forget received activities and request logs (not follows)."""
        return await self._call("POST", "/_control/clear")

    async def wait_for(
        self,
        predicate: Callable[[dict], bool],
        timeout: float = 20.0,  # noqa: ASYNC109 - part of the rig's interface
    ) -> dict:
        """Poll ``state()`` every 0.1 s until ``predicate(state)`` is true."""
        deadline = time.monotonic() + timeout
        state: dict = {}
        while True:
            state = await self.state()
            with contextlib.suppress(KeyError, IndexError, TypeError):
                if predicate(state):
                    return state
            if time.monotonic() >= deadline:
                break
            if self._proc.returncode is not None:
                raise RuntimeError(f"fedify peer exited ({self._proc.returncode}):\n{self.logs()}")
            await asyncio.sleep(0.1)
        summary = {
            "followers": state.get("followers"),
            "following": state.get("following"),
            "received": [(r.get("type"), r.get("id")) for r in state.get("received", [])],
            "errors": state.get("errors"),
            "inboxRequests": [
                (r.get("path"), r.get("status"), r.get("response"))
                for r in state.get("inboxRequests", [])
            ],
        }
        raise TimeoutError(
            f"condition not met on fedify peer {self.domain} within {timeout}s; "
            f"state: {summary}\n--- peer log (tail) ---\n" + "\n".join(list(self._output)[-40:])
        )


class _AddressInUse(RuntimeError):
    pass


PUBLIC = {"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"}


def _audience(doc: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for key in ("to", "cc"):
        value = doc.get(key)
        found.update([value] if isinstance(value, str) else value or [])
    return found


def direct_messages(state: dict[str, Any], sender: str) -> list[dict[str, Any]]:
    """The non-public ``Create{Note}`` bodies ``sender`` POSTed to the peer's inboxes, as sent
    (raw JSON, oldest first), each only once (a retried delivery is the same activity)."""
    found: dict[str, dict[str, Any]] = {}
    for request in state.get("inboxRequests", []):
        body = request.get("body")
        if (
            isinstance(body, dict)
            and body.get("type") == "Create"
            and body.get("actor") == sender
            and isinstance(body.get("object"), dict)
            and body["object"].get("type") == "Note"
            and request.get("status", 500) < 300
            and not PUBLIC & (_audience(body) | _audience(body["object"]))
        ):
            found.setdefault(str(body.get("id")), body)
    return list(found.values())
