"""Sync with partners over TAXII 2.1: pull their new versions, push ours (httpx client).

Pull: for every collection the partner's server lets us read, GET objects with
``match[version]=all`` after our cursor, page by page (``next``). Each page is stored
with grotius.ingest.ingest (validated, signatures checked, audited) and the cursor (the
page's ``X-TAXII-Date-Added-Last``) is saved in the same transaction, so a sync killed at
any point resumes where the last committed page ended. Resuming asks from one
microsecond before the cursor: a server whose date_added values can tie (not Grotius;
others may) cannot make us skip a version, and the overlap is stored as "unchanged".

Push: for every collection the partner's server lets us write and that has a collection
of the same TAXII id here (Grotius derives collection ids from names, so equal names
match across nodes), POST the versions added here after our push cursor that the
agreement allows (grotius.sharing.policy.disclose, channel "sync"), poll the status,
then audit the disclosure and advance the cursor in one transaction. A push interrupted
between the POST and that commit re-sends the page next time; the receiver keeps it
once (same id and version = unchanged).

Connection errors, 5xx and 429 are retried with exponential backoff (Retry-After is
honoured); a run that still fails leaves the cursors at the last committed page.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urljoin

import httpx
import orjson

from .. import collections as cols
from ..exc import AuthError, Forbidden, GrotiusError, InvalidInput, NotFound
from ..ingest import ingest
from ..store.objects import Stored, loads
from . import audit

if TYPE_CHECKING:
    from ..node import Node
    from .partners import Partner

log = logging.getLogger("grotius.sync")

TAXII = "application/taxii+json;version=2.1"
STIX = "application/stix+json;version=2.1"


# -- HTTP with retries ------------------------------------------------------------------


@dataclass
class Retry:
    attempts: int = 8
    base: float = 0.5
    cap: float = 30.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after and retry_after.strip().isdigit():
            return min(float(retry_after), self.cap)
        # full jitter keeps many nodes from retrying in lockstep after an outage
        return random.uniform(0, min(self.cap, self.base * 2 ** attempt))


class Client:
    """A TAXII 2.1 client for one partner server."""

    def __init__(self, url: str, user: str | None, password: str | None, *, partner: str,
                 retry: Retry | None = None, timeout: float = 60.0) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.partner = partner
        self.retry = retry or Retry()
        auth = httpx.BasicAuth(user, password) if user and password is not None else None
        self.http = httpx.Client(auth=auth, timeout=timeout, follow_redirects=False,
                                 headers={"Accept": TAXII, "User-Agent": "grotius-sync"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def request(self, method: str, url: str, *, params: dict[str, str] | None = None,
                body: bytes | None = None) -> httpx.Response:
        headers = {"Content-Type": TAXII} if body is not None else None
        last: str = ""
        for attempt in range(self.retry.attempts):
            try:
                r = self.http.request(method, url, params=params, content=body, headers=headers)
            except httpx.TransportError as e:
                last = f"{type(e).__name__}: {e}"
                if attempt + 1 < self.retry.attempts:
                    self.retry.sleep(self.retry.delay(attempt))
                continue
            if r.status_code == 429 or r.status_code >= 500:
                last = f"HTTP {r.status_code}"
                if attempt + 1 < self.retry.attempts:
                    self.retry.sleep(self.retry.delay(attempt, r.headers.get("Retry-After")))
                continue
            if r.status_code >= 400:
                raise _http_error(self.partner, method, url, r)
            return r
        raise GrotiusError(
            f"partner {self.partner!r} unreachable at {url} after {self.retry.attempts} attempts ({last})",
            partner=self.partner, url=url,
        )

    def get_json(self, url: str, params: dict[str, str] | None = None) -> tuple[dict[str, Any], httpx.Response]:
        r = self.request("GET", url, params=params)
        return _json(self.partner, url, r), r


def _json(partner: str, url: str, r: httpx.Response) -> dict[str, Any]:
    try:
        doc = orjson.loads(r.content) if r.content else {}
    except orjson.JSONDecodeError:
        raise GrotiusError(f"partner {partner!r} answered {url} with something that is not JSON",
                           partner=partner, url=url) from None
    if not isinstance(doc, dict):
        raise GrotiusError(f"partner {partner!r} answered {url} with JSON that is not an object",
                           partner=partner, url=url)
    return doc


def _http_error(partner: str, method: str, url: str, r: httpx.Response) -> GrotiusError:
    try:
        doc = r.json()
        why = ": ".join(str(doc.get(k)) for k in ("title", "description") if doc.get(k))
    except ValueError:
        why = r.text[:200]
    msg = f"partner {partner!r} refused {method} {url}: HTTP {r.status_code} {why}".rstrip()
    cls: type[GrotiusError] = {401: AuthError, 403: Forbidden, 404: NotFound}.get(r.status_code, GrotiusError)
    return cls(msg, partner=partner, status=r.status_code)


# -- TAXII discovery --------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteCollection:
    api_root: str
    id: str
    title: str
    alias: str | None
    can_read: bool
    can_write: bool

    @property
    def objects_url(self) -> str:
        return urljoin(self.api_root, f"collections/{self.id}/objects/")


def remote_collections(client: Client) -> list[RemoteCollection]:
    disc, _ = client.get_json(client.url)
    roots = disc.get("api_roots") or []
    if not roots and disc.get("default"):
        roots = [disc["default"]]
    out: list[RemoteCollection] = []
    for root in roots:
        base = urljoin(client.url, root)
        base = base if base.endswith("/") else base + "/"
        try:
            doc, _ = client.get_json(urljoin(base, "collections/"))
        except (Forbidden, NotFound):
            continue  # an API root we have no business in
        for c in doc.get("collections") or ():
            if isinstance(c, dict) and isinstance(c.get("id"), str):
                out.append(RemoteCollection(
                    base, c["id"], str(c.get("title", "")), c.get("alias"),
                    bool(c.get("can_read")), bool(c.get("can_write")),
                ))
    return out


def local_collection(node: "Node", rc: RemoteCollection, mapping: dict[str, str] | None = None) -> str | None:
    """The local collection that mirrors a remote one: as mapped, else same TAXII id or alias."""
    if mapping and (rc.id in mapping or (rc.alias and rc.alias in mapping)):
        name = mapping.get(rc.id) or mapping[rc.alias or ""]
        if not node.store.query_one("SELECT 1 FROM collections WHERE name = ?", (name,)):
            raise NotFound(f"no local collection {name!r} to map {rc.id} to", collection=name)
        return name
    for (name,) in node.store.query("SELECT name FROM collections ORDER BY name"):
        if cols.collection_uuid(name) == rc.id or (rc.alias and rc.alias == name):
            return str(name)
    return None


# -- cursors ----------------------------------------------------------------------------


def get_cursor(q: Any, partner: str, collection: str, direction: str) -> str | None:
    row = q.query_one(
        "SELECT cursor FROM sync_cursors WHERE partner = ? AND collection = ? AND direction = ?",
        (partner, collection, direction),
    )
    return str(row[0]) if row else None


def set_cursor(tx: Any, partner: str, collection: str, direction: str, value: str) -> None:
    now = int(time.time())
    if tx.execute(
        "UPDATE sync_cursors SET cursor = ?, updated = ? WHERE partner = ? AND collection = ? AND direction = ?",
        (value, now, partner, collection, direction),
    ) == 0:
        tx.execute(
            "INSERT INTO sync_cursors (partner, collection, direction, cursor, updated) VALUES (?,?,?,?,?)",
            (partner, collection, direction, value, now),
        )


def reset_cursors(node: "Node", partner: str, direction: str | None = None) -> int:
    with node.store.transaction() as tx:
        if direction:
            n = tx.execute("DELETE FROM sync_cursors WHERE partner = ? AND direction = ?", (partner, direction))
        else:
            n = tx.execute("DELETE FROM sync_cursors WHERE partner = ?", (partner,))
        audit.record(tx, "sync.reset", partner=partner, detail={"direction": direction, "cursors": n})
    return n


def _parse_ts(text: str) -> datetime:
    t = text.strip().replace("z", "Z")
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    base, _, rest = t.partition(".")
    if rest:  # fromisoformat wants 6 fraction digits at most
        frac, tz = rest[: rest.find("+")] if "+" in rest else rest, rest[rest.find("+"):] if "+" in rest else ""
        t = f"{base}.{(frac + '000000')[:6]}{tz}"
    return datetime.fromisoformat(t)


def _fmt_ts(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _before(cursor: str) -> str:
    return _fmt_ts(_parse_ts(cursor) - timedelta(microseconds=1))


# -- results ----------------------------------------------------------------------------


@dataclass
class CollectionResult:
    collection: str
    local: str | None = None
    pages: int = 0
    received: int = 0
    stored: int = 0
    unchanged: int = 0
    rejected: int = 0
    withheld: int = 0
    errors: list[str] = field(default_factory=list)
    cursor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "collection", "local", "pages", "received", "stored", "unchanged", "rejected",
            "withheld", "cursor")} | {"errors": self.errors[:50]}


@dataclass
class SyncResult:
    partner: str
    direction: str
    collections: list[CollectionResult] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not any(c.rejected for c in self.collections)

    @property
    def objects(self) -> int:
        return sum(c.stored if self.direction == "pull" else c.received for c in self.collections)

    def lines(self) -> list[str]:
        out = []
        for c in self.collections:
            where = f" -> {c.local}" if c.local and self.direction == "pull" else ""
            if self.direction == "pull":
                out.append(f"{self.partner} {c.collection}{where}: {c.pages} pages, received {c.received}, "
                           f"stored {c.stored}, unchanged {c.unchanged}, rejected {c.rejected}")
            else:
                out.append(f"{self.partner} {c.collection}: sent {c.received}, accepted {c.stored}, "
                           f"refused {c.rejected}, withheld by policy {c.withheld}")
            out.extend(f"  {e}" for e in c.errors[:20])
        if self.error:
            out.append(f"error: {self.error}")
        if not self.collections and not self.error:
            out.append(f"{self.partner}: no collections to {self.direction}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"partner": self.partner, "direction": self.direction, "ok": self.ok,
                "error": self.error, "collections": [c.to_dict() for c in self.collections]}


# -- pull -------------------------------------------------------------------------------


def _partner(node: "Node", name: str) -> "Partner":
    from . import partners

    p = partners.get(node, name)
    if p.disabled:
        raise Forbidden(f"partner {name!r} is disabled", partner=name)
    if not p.url:
        raise InvalidInput(
            f"partner {name!r} has no TAXII URL: set one with `grotius partner update {name} --url ...`",
            partner=name, property="url",
        )
    return p


def client_for(node: "Node", p: "Partner", retry: Retry | None = None) -> Client:
    from . import partners

    return Client(p.url or "", p.remote_user, partners.remote_password(node, p), partner=p.name, retry=retry)


def pull(node: "Node", partner: str, *, page_size: int = 1000, retry: Retry | None = None,
         progress: bool = False, collections: list[str] | None = None,
         mapping: dict[str, str] | None = None) -> SyncResult:
    """Fetch every new version from the partner's readable collections.

    ``collections`` limits the run to these remote collection ids or aliases; ``mapping``
    names the local collection (remote id or alias -> local name) that receives a remote
    collection's objects when no local collection has the same TAXII id.
    """
    p = _partner(node, partner)
    res = SyncResult(p.name, "pull")
    rid = _run_start(node, p.name, "pull")
    try:
        with client_for(node, p, retry) as client, _acting(p.name):
            for rc in remote_collections(client):
                if not rc.can_read or (collections and rc.id not in collections and rc.alias not in collections):
                    continue
                cr = CollectionResult(rc.alias or rc.id, local_collection(node, rc, mapping))
                res.collections.append(cr)
                try:
                    _pull_collection(node, p, client, rc, cr, page_size, progress)
                finally:
                    _audit_run(node, p, "sync.pull", cr)
    except GrotiusError as e:
        res.error = str(e)
    finally:
        _run_end(node, rid, res)
    return res


def _pull_collection(node: "Node", p: "Partner", client: Client, rc: RemoteCollection,
                     cr: CollectionResult, page_size: int, progress: bool) -> None:
    key = rc.id
    cursor = get_cursor(node.store, p.name, key, "pull")
    base: dict[str, str] = {"limit": str(page_size), "match[version]": "all"}
    if cursor:
        base["added_after"] = _before(cursor)
    nxt: str | None = None
    bar = _bar(progress, f"pull {p.name} {cr.collection}")
    try:
        while True:
            params = dict(base)
            if nxt:
                params["next"] = nxt
            try:
                env, r = client.get_json(rc.objects_url, params)
            except GrotiusError as e:
                if nxt and getattr(e, "detail", {}).get("status") == 400:
                    # the server forgot the paging session (restart, expiry): carry on from
                    # the last committed cursor instead
                    nxt = None
                    cur = get_cursor(node.store, p.name, key, "pull")
                    if cur:
                        base["added_after"] = _before(cur)
                    continue
                raise
            objs = env.get("objects") or []
            if not isinstance(objs, list):
                raise GrotiusError(f"partner {p.name!r}: 'objects' of a page is not a list", partner=p.name)
            last = r.headers.get("X-TAXII-Date-Added-Last")
            with node.store.transaction() as tx:
                s = ingest(node, objs, collection=cr.local, source=p.name, strict_refs=False, quiet=True)
                if last:
                    set_cursor(tx, p.name, key, "pull", last)
            cr.pages += 1
            cr.received += len(objs)
            cr.stored += s.stored
            cr.unchanged += s.unchanged
            cr.rejected += s.rejected
            cr.errors.extend(str(e) for e in s.errors[: max(0, 50 - len(cr.errors))])
            if last:
                cr.cursor = last
            if bar:
                bar[0].update(bar[1], advance=len(objs))
            if not env.get("more"):
                return
            nxt = env.get("next") if isinstance(env.get("next"), str) else None
            if not nxt:
                if not last:
                    raise GrotiusError(
                        f"partner {p.name!r} says there is more but gives neither 'next' nor "
                        "X-TAXII-Date-Added-Last: cannot page", partner=p.name)
                base["added_after"] = last
    finally:
        if bar:
            bar[0].stop()


# -- push -------------------------------------------------------------------------------

_OBJ_COLS = "o.pk, o.id, o.type, o.version, ci.date_added, o.tlp, o.source, o.raw"


def _items_after(node: "Node", cid: int, after: int, limit: int) -> list[Stored]:
    rows = node.store.query(
        f"SELECT {_OBJ_COLS} FROM collection_items ci JOIN objects o ON o.pk = ci.pk "
        f"WHERE ci.cid = ? AND ci.date_added > ? ORDER BY ci.date_added LIMIT {int(limit)}",
        (cid, after),
    )
    return [Stored(pk=int(r[0]), id=r[1], type=r[2], version=r[3], date_added=int(r[4]), tlp=r[5],
                   source=r[6], collection=None, obj=loads(r[7]), status="unchanged", raw=r[7])
            for r in rows]


def push(node: "Node", partner: str, *, page_size: int = 1000, retry: Retry | None = None,
         progress: bool = False, collections: list[str] | None = None,
         mapping: dict[str, str] | None = None, status_timeout: float = 120.0) -> SyncResult:
    """Send the partner what the agreement allows from the collections both sides have
    (same TAXII id, or as ``mapping`` says: remote id or alias -> local name)."""
    from . import partners, policy

    p = _partner(node, partner)
    res = SyncResult(p.name, "push")
    rid = _run_start(node, p.name, "push")
    principal = partners.principal_for(node, p, via="sync")
    clear = policy.clearance(node, principal, "sync")
    try:
        with client_for(node, p, retry) as client, _acting(p.name):
            for rc in remote_collections(client):
                if not rc.can_write or (collections and rc.id not in collections and rc.alias not in collections):
                    continue
                local = local_collection(node, rc, mapping)
                if local is None:
                    continue
                cr = CollectionResult(rc.alias or rc.id, local)
                res.collections.append(cr)
                cid = int(node.store.query_one("SELECT cid FROM collections WHERE name = ?", (local,))[0])
                after = int(get_cursor(node.store, p.name, rc.id, "push") or 0)
                bar = _bar(progress, f"push {p.name} {cr.collection}")
                try:
                    while True:
                        batch = _items_after(node, cid, after, page_size)
                        if not batch:
                            break
                        # versions that came from this partner go back to it only as echoes
                        candidates = [st for st in batch if st.source != p.name]
                        sent = policy.disclose(node, principal, candidates, channel="sync",
                                               audit=False, clear=clear)
                        cr.withheld += len(candidates) - len(sent)
                        request_id = None
                        failures: list[dict[str, Any]] = []
                        if sent:
                            request_id, ok, failures = _post(client, rc, sent, p.name, status_timeout)
                            cr.received += len(sent)
                            cr.stored += ok
                            cr.rejected += len(failures)
                            cr.errors.extend(
                                f"refused {f.get('id')}: {f.get('message', '')}" for f in failures[:20])
                        after = batch[-1].date_added
                        with node.store.transaction() as tx:
                            if sent:
                                redacted = {f"{st.id}@{st.version}": policy.redact(st.obj, clear, st.source, node.identity_id)[1]
                                            for st, obj in sent if obj is not st.obj}
                                audit.record(
                                    tx, "disclose", partner=p.name,
                                    objects=[(st.id, st.version) for st, _ in sent],
                                    agreement=clear.agreement, request_id=request_id,
                                    detail={"channel": "sync", "endpoint": rc.objects_url,
                                            "collection": local, "count": len(sent),
                                            "redacted": redacted,
                                            "withheld": len(candidates) - len(sent),
                                            "refused": [f.get("id") for f in failures][:100]},
                                )
                            set_cursor(tx, p.name, rc.id, "push", str(after))
                        cr.pages += 1
                        cr.cursor = str(after)
                        if bar:
                            bar[0].update(bar[1], advance=len(batch))
                finally:
                    if bar:
                        bar[0].stop()
    except GrotiusError as e:
        res.error = str(e)
    finally:
        _run_end(node, rid, res)
    return res


def _post(client: Client, rc: RemoteCollection, sent: list[tuple[Stored, dict[str, Any]]],
          partner: str, status_timeout: float) -> tuple[str | None, int, list[dict[str, Any]]]:
    body = b'{"objects":[' + b",".join(
        st.raw.encode() if obj is st.obj else orjson.dumps(obj) for st, obj in sent) + b"]}"
    r = client.request("POST", rc.objects_url, body=body)
    status = _json(partner, rc.objects_url, r)
    sid = status.get("id") if isinstance(status.get("id"), str) else None
    deadline = time.monotonic() + status_timeout
    wait = 0.2
    while status.get("status") == "pending" and sid and time.monotonic() < deadline:
        client.retry.sleep(wait)
        wait = min(wait * 2, 5.0)
        status, _ = client.get_json(urljoin(rc.api_root, f"status/{sid}/"))
    if status.get("status") == "pending":
        raise GrotiusError(f"partner {partner!r} still processing push {sid} after {status_timeout:.0f} s",
                           partner=partner)
    failures = [f for f in status.get("failures") or () if isinstance(f, dict)]
    ok = int(status.get("success_count", len(sent) - len(failures)) or 0)
    return sid, ok, failures


# -- bookkeeping ------------------------------------------------------------------------


def _acting(partner: str) -> Any:
    """Keep an actor the caller set (a user who pressed "sync now"); else name the sync."""
    return audit.acting_as(audit.current_actor() if audit._actor.get() else f"sync:{partner}")


def _audit_run(node: "Node", p: "Partner", action: str, cr: CollectionResult) -> None:
    audit.record_now(node.store, action, partner=p.name, agreement=p.agreement_id,
                     request_id=str(uuid.uuid4()), detail=cr.to_dict())


def _run_start(node: "Node", partner: str, direction: str) -> int:
    with node.store.transaction() as tx:
        return tx.insert_returning_pk(
            "INSERT INTO sync_runs (partner, direction, started, objects) VALUES (?, ?, ?, 0)",
            (partner, direction, int(time.time())),
        )


def _run_end(node: "Node", rid: int, res: SyncResult) -> None:
    with node.store.transaction() as tx:
        tx.execute("UPDATE sync_runs SET finished = ?, objects = ?, error = ? WHERE rid = ?",
                   (int(time.time()), res.objects, res.error, rid))


def runs(node: "Node", partner: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    sql = "SELECT rid, partner, direction, started, finished, objects, error FROM sync_runs"
    params: list[Any] = []
    if partner:
        sql += " WHERE partner = ?"
        params.append(partner)
    rows = node.store.query(sql + f" ORDER BY rid DESC LIMIT {int(limit)}", params)
    return [dict(zip(("rid", "partner", "direction", "started", "finished", "objects", "error"), r))
            for r in rows]


def _bar(progress: bool, label: str) -> tuple[Any, Any] | None:
    if not progress:
        return None
    import sys

    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    prog = Progress(SpinnerColumn(), TextColumn(label), TextColumn("{task.completed} objects"),
                    console=Console(stderr=True), transient=True)
    prog.start()
    return prog, prog.add_task(label, total=None)


# -- scheduled mode ---------------------------------------------------------------------


def set_schedule(node: "Node", partner: str, every: int | None, directions: tuple[str, ...] = ("pull", "push")) -> None:
    """Sync with ``partner`` every ``every`` seconds inside ``grotius serve`` (None: stop)."""
    _partner(node, partner)
    for d in directions:
        if d not in ("pull", "push"):
            raise InvalidInput(f"direction {d!r} must be pull or push", property="direction")
    if every is not None and every < 10:
        raise InvalidInput("--every must be at least 10 seconds", property="every")
    with node.store.transaction() as tx:
        tx.execute("DELETE FROM sync_schedule WHERE partner = ?", (partner,))
        if every is not None:
            tx.execute("INSERT INTO sync_schedule (partner, every, directions, next_due) VALUES (?,?,?,0)",
                       (partner, every, ",".join(directions)))
        audit.record(tx, "sync.schedule", partner=partner,
                     detail={"every": every, "directions": list(directions)})


def schedules(node: "Node") -> list[tuple[str, int, tuple[str, ...], int]]:
    return [(r[0], int(r[1]), tuple(str(r[2]).split(",")), int(r[3]))
            for r in node.store.query("SELECT partner, every, directions, next_due FROM sync_schedule ORDER BY partner")]


class Scheduler:
    """Background thread of ``grotius serve`` that runs due syncs one at a time."""

    def __init__(self, node: "Node", tick: float = 5.0) -> None:
        self.node = node
        self.tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="grotius-sync", daemon=True)

    def start(self) -> "Scheduler":
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def run_due(self) -> list[SyncResult]:
        out = []
        now = int(time.time())
        for partner, every, directions, due in schedules(self.node):
            if due > now:
                continue
            with self.node.store.transaction() as tx:
                tx.execute("UPDATE sync_schedule SET next_due = ? WHERE partner = ?", (now + every, partner))
            for d in directions:
                if self._stop.is_set():
                    return out
                with audit.acting_as(f"sync:{partner}"):
                    r = (pull if d == "pull" else push)(self.node, partner, retry=Retry(attempts=4))
                if r.error:
                    log.warning("scheduled %s with %s failed: %s", d, partner, r.error)
                out.append(r)
            audit.checkpoint(self.node)
        return out

    def _loop(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.run_due()
            except Exception:  # a broken partner must not stop the server's other syncs
                log.exception("scheduled sync failed")


def install(app: Any) -> None:
    """Start the scheduler with the web app when any partner has a sync schedule
    (the table is read on every tick, so schedules added later are picked up)."""
    node = app.state.node
    # requests the web/TAXII edges do not attribute (acting_as) are the node's own doing,
    # not the login that happened to start `grotius serve`
    audit.set_default_actor("node")

    def _start() -> None:
        app.state.sync_scheduler = Scheduler(node).start()

    def _stop() -> None:
        s = getattr(app.state, "sync_scheduler", None)
        if s is not None:
            s.stop()

    app.router.add_event_handler("startup", _start)
    app.router.add_event_handler("shutdown", _stop)


__all__ = ["pull", "push", "Client", "Retry", "SyncResult", "Scheduler", "install", "set_schedule",
           "reset_cursors", "runs"]
