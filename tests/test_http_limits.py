"""The outbound client stops downloading at its limit: a hostile or broken peer cannot make us
read (or hold in memory) more than a couple of megabytes, whatever it sends."""

from __future__ import annotations

import pytest

from federation.context import Federation
from federation.http import MAX_ANSWER_BYTES, MAX_RESPONSE_BYTES
from models.errors import Malformed
from tests.rig.remote import RemoteServer

CHUNK = b"x" * 65536
HUNDRED_MB = 1600  # chunks of 64 KiB


async def test_a_huge_document_is_refused_without_downloading_it(
    fed: Federation, remote: RemoteServer
) -> None:
    url = remote.serve_stream("/users/huge", CHUNK, HUNDRED_MB)
    with pytest.raises(Malformed, match="not read"):
        await fed.http.get_json(url, signer=None)
    sent = remote.streamed["/users/huge"] * len(CHUNK)
    # the limit, plus what sockets had buffered when we stopped: far from the 100 MB offered
    assert MAX_RESPONSE_BYTES < sent < 20 * MAX_RESPONSE_BYTES, sent


async def test_an_announced_huge_document_is_refused_before_its_body(
    fed: Federation, remote: RemoteServer
) -> None:
    url = remote.serve_stream("/users/big", CHUNK, HUNDRED_MB, length=True)
    with pytest.raises(Malformed, match="too large"):
        await fed.http.get_text(url, signer=None)
    assert remote.streamed["/users/big"] * len(CHUNK) < 20 * MAX_RESPONSE_BYTES


async def test_a_document_within_the_limit_is_read_whole(
    fed: Federation, remote: RemoteServer
) -> None:
    doc = {"id": remote.url("/notes/1"), "type": "Note", "content": "é" * 100_000}
    url = remote.serve_json("/notes/1", doc)
    final, got = await fed.http.get_json(url, signer=None)
    assert (final, got) == (url, doc)


async def test_the_answer_to_a_post_is_kept_only_in_part(
    fed: Federation, remote: RemoteServer
) -> None:
    remote.script_inbox("/inbox", [(500, {"Retry-After": "30"}, "e" * (1024 * 1024))])
    signer = await fed.instance_signer()
    answer = await fed.http.post_activity(remote.url("/inbox"), b"{}", signer=signer)
    assert answer.status_code == 500 and answer.headers["retry-after"] == "30"
    assert answer.content == b"e" * MAX_ANSWER_BYTES
