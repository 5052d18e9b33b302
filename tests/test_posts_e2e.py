"""Two real instances: a coop's announcement reaches a member of the other instance who follows
the coop, shows on their home feed, and their reply comes back under the post; deleting the
announcement removes it there too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.rig.instances import Instance, Rig
from tests.rig.pages import HTML, csrf_of, logged_in
from tests.skips import E2E_ONCE, once_on_postgres

pytestmark = once_on_postgres(E2E_ONCE)  # tests/skips.py


@pytest.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    root: Path = tmp_path_factory.mktemp("posts")
    rig = Rig([await Instance.create("a", root), await Instance.create("b", root)])
    yield rig
    await rig.stop()


async def test_an_announcement_travels_and_its_reply_comes_back(rig: Rig) -> None:
    a, b = rig.instances
    velos = await a.coop("velos")
    await a.member("alice", "velos")
    await a.ok("member", "admin", "alice")  # an admin of the coop posts as the coop
    await b.coop("roues")
    bob = await b.member("bob", "roues")
    out = await b.ok("follow", "bob", f"@velos@{a.domain}", "--wait", "10")
    assert out.strip().endswith("accepted"), out
    await rig.drain()

    # alice posts as the coop, naming bob
    async with logged_in(a, "alice") as alice:
        form = await alice.get("/posts/new")
        text = f"Atelier ouvert samedi à #Lyon, bienvenue @bob@{b.domain} !"
        r = await alice.post(
            "/posts/new",
            data={"csrf_token": csrf_of(form.text), "as": "velos", "text": text, "language": "fr"},
        )
        assert r.status_code == 303, r.text
        post_path = r.headers["location"]
    post_id = f"{a.base_url}{post_path}"
    await rig.drain()
    assert await a.query(
        "SELECT d.inbox FROM delivery d JOIN activity x ON x.id = d.activity_id "
        "WHERE x.type = 'Create' ORDER BY d.inbox"
    ) == [(f"{b.base_url}/inbox",), (f"{bob}/inbox",)]  # the followers' server, and bob

    # on b: stored, on bob's home feed, and bob is told he was named
    assert await b.query(f"SELECT author_uri, kind FROM post WHERE ap_id = '{post_id}'") == [
        (velos, "note")
    ]
    bob_id = (await b.query("SELECT id FROM local_actor WHERE username = 'bob'"))[0][0]
    told = await b.query(f"SELECT kind FROM notification WHERE recipient_id = {bob_id}")
    assert told == [("mention",)]
    async with logged_in(b, "bob") as bob_web:
        home = await bob_web.get("/home")
        assert "Atelier ouvert samedi" in home.text and "Velos" in home.text
        assert "#<span>Lyon</span></a>" in home.text and "<script" not in home.text

        # bob replies from his instance
        form = await bob_web.get("/reply", params={"to": post_id})
        assert form.status_code == 200 and "Atelier ouvert samedi" in form.text
        r = await bob_web.post(
            "/reply",
            data={
                "csrf_token": csrf_of(form.text),
                "in_reply_to": post_id,
                "text": "J'apporte une pompe.",
                "language": "fr",
            },
        )
        assert r.status_code == 303, r.text
    await rig.drain()

    # on a: the reply is under the post, and the coop is told
    async with httpx.AsyncClient(base_url=a.base_url, headers=HTML) as visitor:
        page = await visitor.get(post_path)
    assert page.status_code == 200
    assert "J&#39;apporte une pompe." in page.text or "J'apporte une pompe." in page.text
    assert "No reply yet." not in page.text
    velos_id = (await a.query("SELECT id FROM local_actor WHERE username = 'velos'"))[0][0]
    told = await a.query(
        f"SELECT kind, actor_uri FROM notification WHERE recipient_id = {velos_id} ORDER BY id"
    )
    assert told == [("follow", bob), ("reply", bob)]
    note = await a.get_as2(post_path)
    assert note["id"] == post_id and note["type"] == "Note" and "name" not in note

    # the announcement deleted: gone on b too, 410 on a
    async with logged_in(a, "alice") as alice:
        confirm = await alice.get(f"{post_path}/delete")
        r = await alice.post(f"{post_path}/delete", data={"csrf_token": csrf_of(confirm.text)})
        assert r.status_code == 303
    await rig.drain()
    assert await b.query(f"SELECT COUNT(*) FROM post WHERE ap_id = '{post_id}'") == [(0,)]
    async with httpx.AsyncClient() as client:
        gone = await client.get(post_id, headers={"Accept": "application/activity+json"})
    assert gone.status_code == 410 and gone.json()["type"] == "Tombstone"
    for instance in rig.instances:
        states = await instance.query("SELECT state, COUNT(*) FROM delivery GROUP BY state")
        assert dict(states) == {"delivered": dict(states).get("delivered")}, states
