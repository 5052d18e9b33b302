// Independent ActivityPub peer built on Fedify 1.5, used by coopub's
// interoperability tests (driven from tests/rig/fedify_peer.py).
//
// Usage: node peer.mjs --port PORT [--host 127.0.0.1]
//
// One actor, `peer` (Person) at http://HOST:PORT/users/peer, inbox
// /users/peer/inbox, shared inbox /inbox, followers /users/peer/followers,
// WebFinger acct:peer@HOST:PORT.  An RSA key pair is generated at startup;
// outgoing requests (deliveries and GETs) are signed with draft-cavage HTTP
// Signatures (rsa-sha256), which is all Fedify 1.5 speaks.
//
// Control API (unauthenticated JSON, same port):
//   GET  /_control/state     -> {followers: [actorId], following: {actorId: "pending"|"accepted"|"rejected"},
//                                received: [{type, id, actor, json, note}], plus debugging extras:
//                                (note: a Create's Note as Fedify parsed it: {id, inReplyTo, to, cc,
//                                mentions: [{href, name}], content}, else null)
//                                followersDetail, followingDetail, inboxRequests, requests, outgoing, errors}
//   POST /_control/follow    {target: "acct:u@host:port" | "u@host:port" | actor URL} -> {followId, target}
//   POST /_control/unfollow  {target} -> {undoId, followId, target}
//   POST /_control/publish   {content: "<p>html</p>"} -> {id, activityId, recipients}
//   POST /_control/dm        {to: handle | actor URL, text: "plain text", inReplyTo?: URL,
//                             content?: "<p>html</p>"} -> {id, activityId, to}
//                            A direct message as Mastodon sends one: Create{Note} `to` that
//                            actor alone, no cc, a Mention tag, content starting with the
//                            mention (`content` replaces the generated HTML).
//   POST /_control/reply     {to: handle | actor URL, inReplyTo: URL, text: "plain text",
//                             content?: "<p>html</p>"} -> {id, activityId, to}
//                            A public reply as Mastodon sends one: Create{Note} to Public, cc
//                            the peer's followers and that actor, a Mention tag, `inReplyTo`.
//   POST /_control/like      {to: handle | actor URL, object: URL} -> {id, to}
//   POST /_control/announce  {to: handle | actor URL, object: URL} -> {id, to}
//                            A favourite / a boost of `object`, sent to its author `to`.
//   POST /_control/undo      {id} -> {undoId}: Undo of a Like or Announce sent above.
//   POST /_control/flag      {to: handle | actor URL, objects: [URL], content?: "text"} -> {id, to}
//                            A report as Mastodon forwards one: Flag{object: objects, content},
//                            not wrapped, delivered to `to`'s inbox (the peer's one actor
//                            stands in for an instance actor).
//   POST /_control/move      {target: actor URL} -> {id, target, recipients}
//                            The peer moves: Move{actor = object = the peer, target}, sent
//                            to its followers (shared inboxes), as Mastodon sends one.
//   POST /_control/lookup    {target} -> {object: <JSON-LD>, document: <raw fetched JSON>}
//   POST /_control/clear     -> forget received/requests/outgoing/errors (keeps follows)
// Errors are {error: "message"} with a 4xx/5xx status.
//
// Everything is in memory and lost on exit.  Prints "READY http://HOST:PORT"
// on stdout once listening; Fedify's logs go to stderr
// (FEDIFY_PEER_LOG_LEVEL=debug|info|warning|error, default info).

import { AsyncLocalStorage } from "node:async_hooks";
import http from "node:http";
import process from "node:process";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";

import {
  Accept,
  Activity,
  Announce,
  Create,
  createExponentialBackoffPolicy,
  createFederation,
  Endpoints,
  Flag,
  Follow,
  generateCryptoKeyPair,
  Mention,
  Move,
  InProcessMessageQueue,
  isActor,
  Like,
  MemoryKvStore,
  Note,
  Object as ASObject,
  Person,
  PUBLIC_COLLECTION,
  Reject,
  Undo,
} from "@fedify/fedify";
import { configure, getTextFormatter } from "@logtape/logtape";
import { Temporal } from "@js-temporal/polyfill";

// ---------------------------------------------------------------------------
// Arguments / configuration
// ---------------------------------------------------------------------------

const { values: args } = parseArgs({
  options: {
    port: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
  },
});
if (args.port == null || !/^\d+$/.test(args.port)) {
  console.error("usage: node peer.mjs --port PORT [--host 127.0.0.1]");
  process.exit(2);
}
const PORT = Number(args.port);
const HOST = args.host;
const ORIGIN = `http://${HOST}:${PORT}`;
const IDENTIFIER = "peer";
// Log level for Fedify's own logs (on stderr): debug|info|warning|error.
const LOG_LEVEL = process.env.FEDIFY_PEER_LOG_LEVEL ?? "info";
const MAX_LOG = 1000;

const textFormatter = getTextFormatter({ timestamp: "time" });
await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: {
    stderr: (record) => {
      process.stderr.write(`[peer:${PORT}] ` + textFormatter(record));
    },
  },
  loggers: [
    { category: "fedify", sinks: ["stderr"], lowestLevel: LOG_LEVEL },
    { category: ["logtape", "meta"], sinks: ["stderr"], lowestLevel: "warning" },
  ],
});

function log(...parts) {
  console.error(`[peer:${PORT}]`, ...parts);
}

// ---------------------------------------------------------------------------
// In-memory state
// ---------------------------------------------------------------------------

/** @type {Map<string, {id: string, inbox: string|null, sharedInbox: string|null, followId: string|null}>} */
const followers = new Map();
/** @type {Map<string, {status: "pending"|"accepted"|"rejected", followId: string, follow: Follow}>} */
const following = new Map();
/** Received activities: {type, id, actor, json} */
const received = [];
/** Raw HTTP POSTs to our inboxes: {path, headers, body, status, response} */
const inboxRequests = [];
/** Every federation (non-control) request received: {method, path, headers, status} */
const requests = [];
/** Outgoing HTTP requests made by this process (fetch): {method, url, headers, status, error} */
const outgoing = [];
/** Delivery / inbox processing errors */
const errors = [];
/** Published notes, by id */
const notes = new Map();
/** Likes and Announces sent, by id, with their recipient (for /_control/undo) */
const reactions = new Map();

function pushBounded(list, item) {
  list.push(item);
  if (list.length > MAX_LOG) list.splice(0, list.length - MAX_LOG);
}

// Record every outgoing request Fedify makes (signed GETs, deliveries,
// WebFinger) so the tests can inspect headers such as Signature / Accept.
const originalFetch = globalThis.fetch;
globalThis.fetch = async function recordingFetch(input, init) {
  const req = new Request(input, init);
  const entry = {
    method: req.method,
    url: req.url,
    headers: Object.fromEntries(req.headers.entries()),
    status: null,
    error: null,
    at: new Date().toISOString(),
  };
  pushBounded(outgoing, entry);
  try {
    const res = await originalFetch(req, init?.redirect ? { redirect: init.redirect } : undefined);
    entry.status = res.status;
    return res;
  } catch (e) {
    entry.error = String(e?.cause ?? e);
    throw e;
  }
};

// ---------------------------------------------------------------------------
// Federation
// ---------------------------------------------------------------------------

// Generated once at startup, kept in memory.
const rsaKeyPair = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");

const retryPolicy = createExponentialBackoffPolicy({
  initialDelay: { milliseconds: 500 },
  maxDelay: { seconds: 5 },
  maxAttempts: 6,
});

const federation = createFederation({
  kv: new MemoryKvStore(),
  // Separate queues so a slow delivery never delays inbox processing.
  queue: {
    inbox: new InProcessMessageQueue({ pollInterval: { milliseconds: 100 } }),
    outbox: new InProcessMessageQueue({ pollInterval: { milliseconds: 100 } }),
    fanout: new InProcessMessageQueue({ pollInterval: { milliseconds: 100 } }),
  },
  origin: ORIGIN,
  allowPrivateAddress: true,
  outboxRetryPolicy: retryPolicy,
  inboxRetryPolicy: retryPolicy,
  onOutboxError: (error, activity) => {
    log("delivery failed:", activity?.id?.href, String(error));
    pushBounded(errors, {
      kind: "outbox",
      activityId: activity?.id?.href ?? null,
      error: String(error),
      at: new Date().toISOString(),
    });
  },
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== IDENTIFIER) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: IDENTIFIER,
      name: "Fedify Peer",
      summary: "An independent ActivityPub peer (Fedify) for coopub tests.",
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      followers: ctx.getFollowersUri(identifier),
      manuallyApprovesFollowers: false,
      publicKey: keys[0]?.cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .mapHandle((_ctx, username) => (username === IDENTIFIER ? IDENTIFIER : null))
  .setKeyPairsDispatcher(async (_ctx, identifier) => {
    if (identifier !== IDENTIFIER) return [];
    return [rsaKeyPair];
  });

federation
  .setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
    if (identifier !== IDENTIFIER) return null;
    const items = [...followers.values()].map((f) => ({
      id: new URL(f.id),
      inboxId: f.inbox == null ? null : new URL(f.inbox),
      endpoints: f.sharedInbox == null ? null : { sharedInbox: new URL(f.sharedInbox) },
    }));
    return { items };
  })
  .setCounter((_ctx, identifier) => (identifier === IDENTIFIER ? followers.size : null));

// Our own notes are dereferenceable.
federation.setObjectDispatcher(
  Note,
  "/users/{identifier}/notes/{id}",
  (ctx, values) => {
    if (values.identifier !== IDENTIFIER) return null;
    return notes.get(ctx.getObjectUri(Note, values).href) ?? null;
  },
);

/** A Create's Note as Fedify reads it (what a Mastodon-like server would show). */
async function readNote(ctx, activity) {
  if (!(activity instanceof Create)) return null;
  const object = await getObjectSafe(ctx, activity);
  if (!(object instanceof Note)) return null;
  const mentions = [];
  for await (const tag of object.getTags({ contextLoader: ctx.contextLoader })) {
    if (tag instanceof Mention) mentions.push({ href: tag.href?.href ?? null, name: tag.name?.toString() ?? null });
  }
  return {
    id: object.id?.href ?? null,
    inReplyTo: object.replyTargetId?.href ?? null,
    to: object.toIds.map((u) => u.href),
    cc: object.ccIds.map((u) => u.href),
    mentions,
    content: object.content?.toString() ?? null,
  };
}

async function recordActivity(ctx, activity) {
  let json = null;
  try {
    json = await activity.toJsonLd({ contextLoader: ctx.contextLoader });
  } catch (e) {
    json = { error: `toJsonLd failed: ${e}` };
  }
  const type = typeof json?.type === "string" ? json.type : activity.constructor.name;
  let note = null;
  try {
    note = await readNote(ctx, activity);
  } catch (e) {
    note = { error: `reading the note failed: ${e}` };
  }
  pushBounded(received, {
    type,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    json,
    note,
    at: new Date().toISOString(),
  });
}

async function getObjectSafe(ctx, activity) {
  try {
    return await activity.getObject(ctx);
  } catch (e) {
    log("could not resolve object of", activity.id?.href, String(e));
    return null;
  }
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  // Sign key fetches made while verifying deliveries to the shared inbox too
  // (authorized-fetch servers refuse unsigned GETs).
  .setSharedKeyDispatcher((_ctx) => ({ identifier: IDENTIFIER }))
  .on(Follow, async (ctx, follow) => {
    await recordActivity(ctx, follow);
    if (follow.id == null || follow.actorId == null || follow.objectId == null) return;
    const parsed = ctx.parseUri(follow.objectId);
    if (parsed?.type !== "actor" || parsed.identifier !== IDENTIFIER) {
      log("ignoring Follow of", follow.objectId.href);
      return;
    }
    const follower = await follow.getActor(ctx);
    if (follower == null || follower.id == null) {
      log("Follow: could not fetch actor", follow.actorId.href);
      throw new Error(`could not fetch follower ${follow.actorId.href}`);
    }
    followers.set(follower.id.href, {
      id: follower.id.href,
      inbox: follower.inboxId?.href ?? null,
      sharedInbox: follower.endpoints?.sharedInbox?.href ?? null,
      followId: follow.id.href,
    });
    // Embed a clean copy of the Follow (id/actor/object as URLs), like
    // Mastodon does; the parsed `follow` has the dereferenced actor cached in
    // it and would be serialised with the whole Person embedded.
    const accept = new Accept({
      id: new URL(`${ctx.getActorUri(IDENTIFIER).href}#accepts/${randomUUID()}`),
      actor: ctx.getActorUri(IDENTIFIER),
      object: new Follow({ id: follow.id, actor: follow.actorId, object: follow.objectId }),
    });
    await ctx.sendActivity({ identifier: IDENTIFIER }, follower, accept);
  })
  .on(Accept, async (ctx, accept) => {
    await recordActivity(ctx, accept);
    markFollowing(accept, "accepted");
  })
  .on(Reject, async (ctx, reject) => {
    await recordActivity(ctx, reject);
    markFollowing(reject, "rejected");
  })
  .on(Undo, async (ctx, undo) => {
    await recordActivity(ctx, undo);
    const actorId = undo.actorId?.href;
    if (actorId == null) return;
    const rec = followers.get(actorId);
    if (rec == null) return;
    const objectId = undo.objectId?.href ?? null;
    let isFollow = objectId != null && objectId === rec.followId;
    if (!isFollow) {
      const obj = await getObjectSafe(ctx, undo);
      isFollow = obj instanceof Follow;
    }
    if (isFollow) followers.delete(actorId);
  })
  .on(Activity, async (ctx, activity) => {
    // Create, Update, Delete, Announce, Like, ... : just record.
    await recordActivity(ctx, activity);
  })
  .onError((_ctx, error) => {
    log("inbox error:", String(error));
    pushBounded(errors, { kind: "inbox", error: String(error), at: new Date().toISOString() });
  });

function markFollowing(activity, status) {
  const objectId = activity.objectId?.href ?? null;
  for (const [target, rec] of following) {
    if (objectId != null && rec.followId === objectId) {
      rec.status = status;
      return;
    }
  }
  // Fall back on the actor of the Accept/Reject (some servers send a bare or
  // re-identified object).
  const actorId = activity.actorId?.href;
  if (actorId != null && following.has(actorId)) {
    following.get(actorId).status = status;
  } else {
    log(`${activity.constructor.name} matched no pending follow:`, objectId, actorId);
  }
}

// ---------------------------------------------------------------------------
// Control API helpers
// ---------------------------------------------------------------------------

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const HANDLE_RE = /^(?:acct:)?@?([^@\s/]+)@([^@\s/]+)$/;

/** Resolve a WebFinger handle over plain http (Fedify 1.5 always uses https). */
async function webfinger(target) {
  const m = HANDLE_RE.exec(target);
  const acct = `acct:${m[1]}@${m[2]}`;
  const url = `http://${m[2]}/.well-known/webfinger?resource=${encodeURIComponent(acct)}`;
  let res;
  try {
    res = await fetch(url, { headers: { Accept: "application/jrd+json" } });
  } catch (e) {
    throw new HttpError(502, `WebFinger request to ${url} failed: ${e?.cause ?? e}`);
  }
  if (!res.ok) {
    throw new HttpError(res.status === 404 ? 404 : 502, `WebFinger ${url} answered HTTP ${res.status}`);
  }
  let jrd;
  try {
    jrd = await res.json();
  } catch (e) {
    throw new HttpError(502, `WebFinger ${url} returned invalid JSON: ${e}`);
  }
  for (const link of jrd.links ?? []) {
    if (link.rel !== "self" || link.href == null) continue;
    const type = link.type ?? "";
    if (type === "application/activity+json" || type.startsWith("application/ld+json")) {
      return link.href;
    }
  }
  throw new HttpError(502, `WebFinger ${url} has no rel=self ActivityPub link: ${JSON.stringify(jrd)}`);
}

/** Look up an object by actor URL or handle, with signed GETs. */
async function lookup(ctx, target) {
  if (typeof target !== "string" || target === "") {
    throw new HttpError(400, "missing 'target'");
  }
  const url = HANDLE_RE.test(target) ? await webfinger(target) : target;
  try {
    new URL(url);
  } catch {
    throw new HttpError(400, `not a URL or handle: ${target}`);
  }
  // Signs GETs with the peer's key (draft-cavage, rsa-sha256).
  const documentLoader = await ctx.getDocumentLoader({ identifier: IDENTIFIER });
  let document;
  try {
    ({ document } = await documentLoader(url));
  } catch (e) {
    const msg = String(e?.message ?? e);
    const status = /HTTP 404|HTTP 410/.test(msg) ? 404 : 502;
    throw new HttpError(status, `fetching ${url} failed: ${msg}`);
  }
  let object;
  try {
    object = await ASObject.fromJsonLd(document, {
      documentLoader,
      contextLoader: ctx.contextLoader,
    });
  } catch (e) {
    throw new HttpError(502, `could not parse ${url} as ActivityStreams: ${e}`);
  }
  return { object, document, url };
}

async function lookupActor(ctx, target) {
  const { object, url } = await lookup(ctx, target);
  if (!isActor(object)) {
    throw new HttpError(422, `${url} is not an actor (${object?.constructor?.name})`);
  }
  if (object.id == null || object.inboxId == null) {
    throw new HttpError(422, `actor ${url} has no id or inbox`);
  }
  return object;
}

function urlOf(value, name) {
  try {
    return new URL(value);
  } catch {
    throw new HttpError(400, `'${name}' is not a URL: ${value}`);
  }
}

/** A Like or an Announce of `object`, sent to its author `to` (kept for an Undo). */
async function react(ctx, body, Type, path) {
  const author = await lookupActor(ctx, body.to);
  const object = urlOf(body.object, "object");
  const me = ctx.getActorUri(IDENTIFIER);
  const id = new URL(`${me.href}/${path}/${randomUUID()}`);
  const values = { id, actor: me, object };
  const activity = Type === Announce
    ? new Announce({
      ...values,
      to: PUBLIC_COLLECTION,
      ccs: [author.id, ctx.getFollowersUri(IDENTIFIER)],
      published: Temporal.Now.instant(),
    })
    : new Like(values);
  reactions.set(id.href, { activity, recipient: author });
  await ctx.sendActivity({ identifier: IDENTIFIER }, author, activity);
  return { id: id.href, to: author.id.href };
}

const control = {
  "GET /_control/state": async () => ({
    followers: [...followers.keys()],
    following: Object.fromEntries([...following].map(([k, v]) => [k, v.status])),
    received,
    // Extras for debugging / assertions:
    followersDetail: [...followers.values()],
    followingDetail: Object.fromEntries(
      [...following].map(([k, v]) => [k, { status: v.status, followId: v.followId }]),
    ),
    inboxRequests,
    requests,
    outgoing,
    errors,
    actor: `${ORIGIN}/users/${IDENTIFIER}`,
  }),

  "POST /_control/follow": async (ctx, body) => {
    const actor = await lookupActor(ctx, body.target);
    const me = ctx.getActorUri(IDENTIFIER);
    const follow = new Follow({
      id: new URL(`${me.href}/follows/${randomUUID()}`),
      actor: me,
      object: actor.id,
    });
    following.set(actor.id.href, { status: "pending", followId: follow.id.href, follow });
    await ctx.sendActivity({ identifier: IDENTIFIER }, actor, follow);
    return { followId: follow.id.href, target: actor.id.href };
  },

  "POST /_control/unfollow": async (ctx, body) => {
    const actor = await lookupActor(ctx, body.target);
    const rec = following.get(actor.id.href);
    const me = ctx.getActorUri(IDENTIFIER);
    const follow = rec?.follow ??
      new Follow({ id: new URL(`${me.href}/follows/${randomUUID()}`), actor: me, object: actor.id });
    const undo = new Undo({
      id: new URL(`${me.href}/undos/${randomUUID()}`),
      actor: me,
      object: follow,
    });
    following.delete(actor.id.href);
    await ctx.sendActivity({ identifier: IDENTIFIER }, actor, undo);
    return { undoId: undo.id.href, followId: follow.id.href, target: actor.id.href };
  },

  "POST /_control/publish": async (ctx, body) => {
    if (typeof body.content !== "string") throw new HttpError(400, "missing 'content'");
    const me = ctx.getActorUri(IDENTIFIER);
    const noteId = ctx.getObjectUri(Note, { identifier: IDENTIFIER, id: randomUUID() });
    const published = Temporal.Now.instant();
    const note = new Note({
      id: noteId,
      attribution: me,
      to: PUBLIC_COLLECTION,
      cc: ctx.getFollowersUri(IDENTIFIER),
      content: body.content,
      mediaType: "text/html",
      url: noteId,
      published,
    });
    notes.set(noteId.href, note);
    const create = new Create({
      id: new URL(`${noteId.href}#create`),
      actor: me,
      to: PUBLIC_COLLECTION,
      cc: ctx.getFollowersUri(IDENTIFIER),
      object: note,
      published,
    });
    await ctx.sendActivity({ identifier: IDENTIFIER }, "followers", create, {
      preferSharedInbox: true,
    });
    return { id: noteId.href, activityId: create.id.href, recipients: followers.size };
  },

  "POST /_control/dm": async (ctx, body) => {
    if (typeof body.text !== "string" && typeof body.content !== "string") {
      throw new HttpError(400, "missing 'text' (or 'content')");
    }
    const recipient = await lookupActor(ctx, body.to);
    let replyTarget = null;
    if (body.inReplyTo != null) {
      try {
        replyTarget = new URL(body.inReplyTo);
      } catch {
        throw new HttpError(400, `'inReplyTo' is not a URL: ${body.inReplyTo}`);
      }
    }
    const username = recipient.preferredUsername ?? "";
    const handle = `@${username}@${recipient.id.host}`;
    const escape = (t) =>
      t.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
    const content = body.content ??
      `<p><span class="h-card" translate="no"><a href="${escape(recipient.id.href)}" ` +
        `class="u-url mention">@<span>${escape(username)}</span></a></span> ${escape(body.text)}</p>`;
    const me = ctx.getActorUri(IDENTIFIER);
    const noteId = ctx.getObjectUri(Note, { identifier: IDENTIFIER, id: randomUUID() });
    const published = Temporal.Now.instant();
    const note = new Note({
      id: noteId,
      attribution: me,
      to: recipient.id,
      replyTarget,
      content,
      mediaType: "text/html",
      tags: [new Mention({ href: recipient.id, name: handle })],
      url: noteId,
      published,
    });
    notes.set(noteId.href, note);
    const create = new Create({
      id: new URL(`${noteId.href}/activity`),
      actor: me,
      to: recipient.id,
      object: note,
      published,
    });
    await ctx.sendActivity({ identifier: IDENTIFIER }, recipient, create);
    return { id: noteId.href, activityId: create.id.href, to: recipient.id.href };
  },

  "POST /_control/reply": async (ctx, body) => {
    if (typeof body.text !== "string" && typeof body.content !== "string") {
      throw new HttpError(400, "missing 'text' (or 'content')");
    }
    const author = await lookupActor(ctx, body.to);
    const replyTarget = urlOf(body.inReplyTo, "inReplyTo");
    const username = author.preferredUsername ?? "";
    const escape = (t) =>
      t.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
    const content = body.content ??
      `<p><span class="h-card" translate="no"><a href="${escape(author.id.href)}" ` +
        `class="u-url mention">@<span>${escape(username)}</span></a></span> ${escape(body.text)}</p>`;
    const me = ctx.getActorUri(IDENTIFIER);
    const noteId = ctx.getObjectUri(Note, { identifier: IDENTIFIER, id: randomUUID() });
    const published = Temporal.Now.instant();
    const ccs = [ctx.getFollowersUri(IDENTIFIER), author.id];
    const note = new Note({
      id: noteId,
      attribution: me,
      to: PUBLIC_COLLECTION,
      ccs,
      replyTarget,
      content,
      mediaType: "text/html",
      tags: [new Mention({ href: author.id, name: `@${username}@${author.id.host}` })],
      url: noteId,
      published,
    });
    notes.set(noteId.href, note);
    const create = new Create({
      id: new URL(`${noteId.href}/activity`),
      actor: me,
      to: PUBLIC_COLLECTION,
      ccs,
      object: note,
      published,
    });
    await ctx.sendActivity({ identifier: IDENTIFIER }, author, create);
    return { id: noteId.href, activityId: create.id.href, to: author.id.href };
  },

  "POST /_control/like": async (ctx, body) => react(ctx, body, Like, "likes"),

  "POST /_control/announce": async (ctx, body) => react(ctx, body, Announce, "announces"),

  "POST /_control/undo": async (ctx, body) => {
    const sent = reactions.get(body.id);
    if (sent == null) throw new HttpError(404, `no Like or Announce ${body.id} sent`);
    const me = ctx.getActorUri(IDENTIFIER);
    const undo = new Undo({
      id: new URL(`${body.id}/undo`),
      actor: me,
      object: sent.activity,
    });
    reactions.delete(body.id);
    await ctx.sendActivity({ identifier: IDENTIFIER }, sent.recipient, undo);
    return { undoId: undo.id.href };
  },

  "POST /_control/flag": async (ctx, body) => {
    if (!Array.isArray(body.objects) || body.objects.length === 0) {
      throw new HttpError(400, "missing 'objects' (a list of URLs)");
    }
    const recipient = await lookupActor(ctx, body.to);
    const objects = body.objects.map((o) => urlOf(o, "objects"));
    const me = ctx.getActorUri(IDENTIFIER);
    const flag = new Flag({
      id: new URL(`${me.href}/flags/${randomUUID()}`),
      actor: me,
      objects,
      content: typeof body.content === "string" ? body.content : undefined,
    });
    await ctx.sendActivity({ identifier: IDENTIFIER }, recipient, flag);
    return { id: flag.id.href, to: recipient.id.href };
  },

  "POST /_control/move": async (ctx, body) => {
    const target = urlOf(body.target, "target");
    const me = ctx.getActorUri(IDENTIFIER);
    const move = new Move({
      id: new URL(`${me.href}#moves/${randomUUID()}`),
      actor: me,
      object: me,
      target,
    });
    await ctx.sendActivity({ identifier: IDENTIFIER }, "followers", move, {
      preferSharedInbox: true,
    });
    return { id: move.id.href, target: target.href, recipients: followers.size };
  },

  "POST /_control/lookup": async (ctx, body) => {
    const { object, document } = await lookup(ctx, body.target);
    return { object: await object.toJsonLd({ contextLoader: ctx.contextLoader }), document };
  },

  "POST /_control/clear": async () => {
    for (const list of [received, inboxRequests, requests, outgoing, errors]) list.length = 0;
    return { ok: true };
  },
};

// ---------------------------------------------------------------------------
// HTTP server (node:http -> Fetch API bridge)
// ---------------------------------------------------------------------------

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function sendJson(res, status, obj) {
  const data = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": data.length });
  res.end(data);
}

const INBOX_PATHS = new Set([`/users/${IDENTIFIER}/inbox`, "/inbox"]);

const server = http.createServer(async (req, res) => {
  try {
    const body = await readBody(req);
    const url = new URL(req.url, ORIGIN);

    if (url.pathname.startsWith("/_control/")) {
      const handler = control[`${req.method} ${url.pathname}`];
      if (handler == null) return sendJson(res, 404, { error: `no such control route ${req.method} ${url.pathname}` });
      let payload = {};
      if (body.length > 0) {
        try {
          payload = JSON.parse(body.toString("utf8"));
        } catch (e) {
          return sendJson(res, 400, { error: `invalid JSON body: ${e}` });
        }
      }
      const ctx = federation.createContext(new URL(ORIGIN), undefined);
      try {
        return sendJson(res, 200, await handler(ctx, payload));
      } catch (e) {
        const status = e instanceof HttpError ? e.status : 500;
        if (!(e instanceof HttpError)) log("control error:", e?.stack ?? e);
        return sendJson(res, status, { error: String(e?.message ?? e) });
      }
    }

    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    }
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const request = new Request(url, {
      method: req.method,
      headers,
      body: hasBody ? body : undefined,
      duplex: "half",
    });
    const response = await federation.fetch(request, { contextData: undefined });
    const respBody = Buffer.from(await response.arrayBuffer());

    pushBounded(requests, {
      method: req.method,
      path: `${url.pathname}${url.search}`,
      headers: Object.fromEntries(headers.entries()),
      status: response.status,
      at: new Date().toISOString(),
    });
    if (req.method === "POST" && INBOX_PATHS.has(url.pathname)) {
      let parsed = body.toString("utf8");
      try {
        parsed = JSON.parse(parsed);
      } catch { /* keep text */ }
      pushBounded(inboxRequests, {
        path: url.pathname,
        headers: Object.fromEntries(headers.entries()),
        body: parsed,
        status: response.status,
        response: respBody.toString("utf8"),
        at: new Date().toISOString(),
      });
      if (response.status >= 400) {
        log(`inbox POST ${url.pathname} -> ${response.status}: ${respBody.toString("utf8")}`);
      }
    }

    const outHeaders = {};
    response.headers.forEach((v, k) => {
      outHeaders[k] = v;
    });
    outHeaders["content-length"] = String(respBody.length);
    res.writeHead(response.status, outHeaders);
    res.end(respBody);
  } catch (e) {
    log("request handling failed:", e?.stack ?? e);
    if (!res.headersSent) sendJson(res, 500, { error: String(e) });
    else res.end();
  }
});

server.listen(PORT, HOST, () => {
  process.stdout.write(`READY ${ORIGIN}\n`);
});
server.on("error", (e) => {
  log("server error:", e?.stack ?? e);
  process.exit(1);
});

function shutdown(signal) {
  log(`${signal} received, shutting down`);
  server.close();
  server.closeAllConnections?.();
  // The in-process message queues keep polling forever; just exit.
  process.exit(0);
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
