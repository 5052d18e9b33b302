"""The shipped deployment files work as shipped: systemd units pass `systemd-analyze`, and the
nginx and Caddy examples, run for real in front of a real instance, keep HTTP signatures valid
(Host and body untouched), pass X-Forwarded-*, cap the body size, redirect http to https, and
keep /metrics and /healthz off the public side.

Only what cannot exist on a test machine is changed in a temporary copy: the public name
(``localhost`` and free ports instead of coop.example, 443 and 80), certificate and log paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.rig.canned import document_at, keypair, signed_post
from tests.rig.database import fresh_database_url
from tests.rig.instances import COOPUB, Instance, free_port
from tests.rig.remote import RemoteServer

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX = ROOT / ".tools" / "usr" / "sbin" / "nginx"
CADDY = ROOT / ".tools" / "usr" / "bin" / "caddy"
UNITS = sorted([*DEPLOY.glob("*.service"), *DEPLOY.glob("*.timer")])


def _unit_copy(unit: Path, tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's coopub (verify checks it exists)."""
    copy = tmp_path / unit.name
    copy.write_text(unit.read_text().replace("/opt/coopub/.venv/bin/coopub", COOPUB))
    return copy


def test_units_run_the_web_server_the_worker_both_or_a_backup() -> None:
    commands = {u.name: re.search(r"^ExecStart=(.*)$", u.read_text(), re.M) for u in UNITS}
    assert {name: m.group(1) if m else None for name, m in commands.items()} == {
        "coopub-web.service": "/opt/coopub/.venv/bin/coopub serve --no-worker",
        "coopub-worker.service": "/opt/coopub/.venv/bin/coopub worker",
        "coopub.service": "/opt/coopub/.venv/bin/coopub serve",
        "coopub-backup.service": "/bin/sh -c 'exec /opt/coopub/.venv/bin/coopub backup "
        '"/var/lib/coopub/backups/coopub-$(date +%%Y%%m%%d-%%H%%M%%S).backup"\'',
        "coopub-backup.timer": None,
    }


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_systemd_units_verify_and_are_hardened(unit: Path, tmp_path: Path) -> None:
    copy = _unit_copy(unit, tmp_path)
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, check=False
    )
    # verify exits 0 on unknown keys or bad values but prints them: any output is a defect.
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr
    if unit.suffix == ".timer":
        return
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=20", str(copy)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert security.returncode == 0, security.stdout[-2000:]
    text = unit.read_text()
    for setting in ("NoNewPrivileges=yes", "ProtectSystem=strict", "UMask=0077", "User=coopub"):
        assert setting in text


def test_readme_sqlite_database_is_where_the_units_may_write() -> None:
    """The production guide's SQLite path lies inside the units' only writable folder (a
    relative path would land next to /etc/coopub/instance.toml, read-only under systemd)."""
    readme = (ROOT / "README.md").read_text()
    guide = readme[readme.index("## Running in production") :]
    [url] = re.findall(r"--database-url (sqlite://\S+)", guide)
    writable = re.findall(r"^ReadWritePaths=(.*)$", (DEPLOY / "coopub.service").read_text(), re.M)
    assert writable and Path(url.removeprefix("sqlite://")).is_relative_to(writable[0]), url


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _nginx_site(tmp: Path, https_port: int, http_port: int, upstream: int) -> Path:
    cert, key = _self_signed(tmp)
    site = (DEPLOY / "nginx.conf").read_text()
    for old, new in {
        "coop.example;": "localhost;",
        "/etc/letsencrypt/live/coop.example/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/coop.example/privkey.pem": str(key),
        "/var/www/letsencrypt": str(tmp),
        "127.0.0.1:8000": f"127.0.0.1:{upstream}",
        "listen 443 ssl": f"listen {https_port} ssl",
        "listen [::]:443 ssl": f"listen [::1]:{https_port} ssl",
        "listen 80;": f"listen {http_port};",
        "listen [::]:80;": f"listen [::1]:{http_port};",
    }.items():
        assert old in site, old
        site = site.replace(old, new)
    main = tmp / "nginx-main.conf"
    (tmp / "site.conf").write_text(site)
    main.write_text(
        f"user root;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp}/body;\n"
        f"  proxy_temp_path {tmp}/proxy;\n  fastcgi_temp_path {tmp}/fastcgi;\n"
        f"  uwsgi_temp_path {tmp}/uwsgi;\n  scgi_temp_path {tmp}/scgi;\n"
        f"  include {tmp}/site.conf;\n}}\n"
    )
    return main


def _caddy_file(tmp: Path, https_port: int, http_port: int, upstream: int) -> Path:
    text = (DEPLOY / "Caddyfile").read_text()
    for old, new in {
        "coop.example {": f"localhost:{https_port} {{",
        "127.0.0.1:8000": f"127.0.0.1:{upstream}",
        "/var/log/caddy/coopub.log": str(tmp / "caddy-access.log"),
    }.items():
        assert old in text, old
        text = text.replace(old, new)
    options = (
        f"{{\n\tadmin off\n\tskip_install_trust\n\thttp_port {http_port}\n"
        f"\thttps_port {https_port}\n\tstorage file_system {tmp}/caddy-data\n}}\n\n"
    )
    path = tmp / "Caddyfile"
    path.write_text(options + text)
    return path


@contextlib.asynccontextmanager
async def _proxy(
    kind: str, tmp: Path, https_port: int, http_port: int, upstream: int
) -> AsyncIterator[None]:
    if kind == "nginx":
        conf = _nginx_site(tmp, https_port, http_port, upstream)
        args = [str(NGINX), "-e", str(tmp / "error.log"), "-c", str(conf), "-g", "daemon off;"]
    else:
        conf = _caddy_file(tmp, https_port, http_port, upstream)
        args = [str(CADDY), "run", "--adapter", "caddyfile", "--config", str(conf)]
    log = (tmp / f"{kind}.out").open("wb")
    env = {"HOME": str(tmp), "XDG_DATA_HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp)}
    proc = await asyncio.create_subprocess_exec(*args, stdout=log, stderr=log, env=env)
    try:
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(verify=False) as client:
            while True:
                assert proc.returncode is None, (tmp / f"{kind}.out").read_text()
                with contextlib.suppress(httpx.TransportError):
                    await client.get(f"https://localhost:{https_port}/nodeinfo/2.1")
                    break
                assert time.monotonic() < deadline, (tmp / f"{kind}.out").read_text()
                await asyncio.sleep(0.2)
        yield
    finally:
        if proc.returncode is None:
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        log.close()


async def _https_instance(root: Path, https_port: int) -> Instance:
    """A real `coopub serve` whose public name is https://localhost:PORT (the proxy)."""
    directory = root / "coop"
    directory.mkdir(parents=True)
    instance = Instance("coop", directory, free_port(), await fresh_database_url("deploy"))
    await instance.ok(
        "init",
        "--domain",
        f"localhost:{https_port}",
        "--scheme",
        "https",
        "--port",
        str(instance.port),
        "--database-url",
        instance.database_url,
        "--allow-private-addresses",
    )
    instance.configure("federation", worker_poll_seconds=0.1)
    await instance.start()
    await instance.ok("coop", "create", "velos", "--title", "Vélos")
    return instance


@pytest.mark.parametrize("kind", ["nginx", "caddy"])
async def test_reverse_proxy_example_in_front_of_a_real_instance(
    kind: str, tmp_path: Path, remote: RemoteServer
) -> None:
    binary = NGINX if kind == "nginx" else CADDY
    assert binary.exists(), f"{binary} missing: scripts/setup runs scripts/install-proxies"
    https_port, http_port = free_port(), free_port()
    public = f"https://localhost:{https_port}"
    instance = await _https_instance(tmp_path / "instance", https_port)
    try:
        async with (
            _proxy(kind, tmp_path, https_port, http_port, instance.port),
            # From 127.0.0.2: coopub's log then shows whether the proxy passed the client's
            # address on (X-Forwarded-For) or only its own (127.0.0.1).
            httpx.AsyncClient(
                verify=False,
                timeout=10,
                transport=httpx.AsyncHTTPTransport(local_address="127.0.0.2", verify=False),
            ) as client,
        ):
            # Pages and AS2 ids through the proxy carry the public https name.
            home = await client.get(f"{public}/")
            assert home.status_code == 200 and "text/html" in home.headers["content-type"]
            finger = await client.get(
                f"{public}/.well-known/webfinger",
                params={"resource": f"acct:velos@localhost:{https_port}"},
            )
            assert finger.status_code == 200, finger.text
            assert {
                "rel": "self",
                "type": "application/activity+json",
                "href": f"{public}/c/velos",
            } in finger.json()["links"]

            # Plain http is redirected to https.
            plain = await client.get(f"http://localhost:{http_port}/c/velos")
            assert plain.status_code in (301, 308), plain.status_code
            assert plain.headers["location"].startswith("https://localhost")

            # Internal endpoints are not public; they still answer on the machine itself.
            for path in ("/metrics", "/healthz"):
                assert (await client.get(f"{public}{path}")).status_code == 404, path

            # Up to 2 MB the proxy passes the body and coopub applies its own 1 MiB limit (its
            # answers carry a request id); beyond, the proxy refuses it before coopub sees it.
            own = await client.post(f"{public}/inbox", content=b"x" * (1536 * 1024))
            assert own.status_code == 413 and "x-request-id" in own.headers, own.text
            assert own.headers["content-type"].startswith("application/json")
            big = await client.post(f"{public}/inbox", content=b"x" * (3 * 1024 * 1024))
            assert big.status_code == 413 and "x-request-id" not in big.headers, big.headers

            # A signed Follow crosses the proxy and verifies: Host and body reach coopub intact.
            key = keypair("deploy")
            actor_id = remote.url("/users/zoe")
            remote.serve_json("/users/zoe", document_at(actor_id, public_pem=key.public_pem))
            follow = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{actor_id}#follows/1",
                "type": "Follow",
                "actor": actor_id,
                "object": f"{public}/c/velos",
            }
            inbox = f"{public}/c/velos/inbox"
            body, headers = signed_post(inbox, follow, f"{actor_id}#main-key", key.private_pem)
            answer = await client.post(inbox, content=body, headers=headers)
            assert answer.status_code == 202, answer.text
            deadline = time.monotonic() + 20
            while not [p for p in remote.posts if p.json().get("type") == "Accept"]:
                assert time.monotonic() < deadline, instance.log()[-3000:]
                await asyncio.sleep(0.1)
            accept = next(p for p in remote.posts if p.json().get("type") == "Accept")
            assert accept.json()["actor"] == f"{public}/c/velos"

        # coopub saw the real client and the proxy's request id (access log, X-Forwarded-For).
        lines = [line for line in instance.log().splitlines() if 'path="/c/velos/inbox"' in line]
        assert lines and all('client="127.0.0.2' in line for line in lines), lines
        assert re.search(r'request_id="[0-9a-f-]{32,36}"', lines[-1]), lines[-1]
    finally:
        await instance.stop()
