"""Who may do what with posts: post as which account, read (and so answer) which post, delete
which. One rule for coops: the instance admins who are members of a coop post as it (the rule
that decides who edits its profile, ``profiles.may_edit``); coopub has no per-coop role."""

from __future__ import annotations

from activitypub.apobject import all_ids
from federation.context import Federation
from federation.services.profiles import editable_actors, may_edit
from models.actors import LocalActor
from models.follows import Follow, FollowState
from models.posts import Post, Visibility

OPEN = (Visibility.PUBLIC, Visibility.UNLISTED)
"""What anyone may read."""


async def postable_accounts(member: LocalActor) -> list[LocalActor]:
    """The accounts ``member`` may post as: their own, and their coop's when they are one of
    the instance's admins (the rule that decides who edits the coop's profile:
    ``profiles.may_edit``)."""
    return await editable_actors(member)


async def may_post_as(member: LocalActor, account: LocalActor) -> bool:
    return may_edit(member, account)


async def may_read(fed: Federation, reader: LocalActor, post: Post) -> bool:
    """Public and unlisted posts, by anyone; a followers-only post, by its author's accepted
    followers; any post, by its author and by the accounts it is addressed to."""
    if post.visibility in OPEN or post.author_id == reader.id:
        return True
    me = fed.urls.actor(reader)
    doc = post.document or {}
    if me in (*all_ids(doc.get("to")), *all_ids(doc.get("cc"))):
        return True
    return post.visibility == Visibility.FOLLOWERS and await Follow.exists(
        follower_uri=me, target_uri=post.author_uri, state=FollowState.ACCEPTED
    )


async def may_delete(member: LocalActor | None, post: Post) -> bool:
    """The author, or a member who may post as it (a coop's announcement)."""
    if member is None or post.author_id is None:
        return False
    author = await LocalActor.get_or_none(id=post.author_id)
    return author is not None and await may_post_as(member, author)
