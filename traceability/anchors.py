"""Signed anchors of the event chains' heads: the part of the proof that lives outside the database.

A village's chain holds together by itself, so someone with write access to the database can
rewrite it from any event on (recomputing every later hash) or cut its tail off, and the chain
still verifies. An anchor records every chain's head (last seq and hash) at one moment and is
signed with an Ed25519 key that is never stored in the database. Whoever rewrites or cuts a
chain afterwards no longer reaches the anchored head, and cannot make a new anchor without the
key. An anchor exported to a file (`manage.py export_anchor`) keeps its proof even if the
database's anchors are deleted too.

Keys: the private key comes from settings.ANCHOR_SIGNING_KEY (base64 of the 32 raw bytes, or
PEM) or the file named by settings.ANCHOR_SIGNING_KEY_FILE. An anchor names its key by id (the
first 16 hex digits of SHA-256 over the raw public key); verification trusts the signing key's
own public key and every public key in settings.ANCHOR_PUBLIC_KEYS, so retired keys stay listed
after a rotation (docs/deployment.md).

The signed payload is canonical JSON (sorted keys, no spaces), stored as is in Anchor.payload.
"""

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key
from django.conf import settings
from django.utils import timezone

FORMAT = "traceability-anchor/1"


class AnchorError(Exception):
    """A key or an anchor that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Head:
    """A chain's head when anchored."""

    village_id: int
    village: str
    seq: int
    hash: str


@dataclass(frozen=True)
class Anchor:
    """A parsed anchor (a database row or a file): signed `payload` text, its `signature`."""

    payload: str
    signature: str
    key_id: str
    anchored_at: datetime
    heads: tuple[Head, ...]
    source: str  # "anchor #12" or "the anchor file anchors/2026-06-14.json", for messages

    def __str__(self) -> str:
        return f"{self.source} of {timezone.localtime(self.anchored_at):%Y-%m-%d %H:%M:%S}"

    def head(self, village_id: int) -> Head | None:
        return next((head for head in self.heads if head.village_id == village_id), None)


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def key_id(public_key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def public_key_text(public_key: Ed25519PublicKey) -> str:
    """Base64 of the 32 raw bytes: what ANCHOR_PUBLIC_KEYS lists."""
    return base64.b64encode(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def _private_key(text: str, where: str) -> Ed25519PrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise AnchorError(f"{where} is not a readable unencrypted PEM private key ({exc}).") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise AnchorError(f"{where} is a {type(key).__name__.lstrip('_')}, not an Ed25519 private key.")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != 32:
        raise AnchorError(
            f"{where} is neither PEM nor base64 of a 32-byte Ed25519 private key "
            "(make one with `openssl genpkey -algorithm ed25519`)."
        )
    return Ed25519PrivateKey.from_private_bytes(raw)


def signing_key() -> Ed25519PrivateKey:
    """The configured private key; AnchorError saying what to fix when it is missing or unusable,
    or when ANCHOR_PUBLIC_KEYS is set and does not list its public key (a wrong key)."""
    if settings.ANCHOR_SIGNING_KEY:
        key = _private_key(settings.ANCHOR_SIGNING_KEY, "ANCHOR_SIGNING_KEY")
    elif settings.ANCHOR_SIGNING_KEY_FILE:
        path = Path(settings.ANCHOR_SIGNING_KEY_FILE)
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise AnchorError(f"ANCHOR_SIGNING_KEY_FILE {path} cannot be read: {exc}.") from None
        key = _private_key(text, f"ANCHOR_SIGNING_KEY_FILE {path}")
    else:
        raise AnchorError(
            "No signing key: set ANCHOR_SIGNING_KEY (base64 or PEM) or ANCHOR_SIGNING_KEY_FILE "
            "(see docs/deployment.md, Anchoring)."
        )
    listed = _listed_keys()
    if listed and key_id(key.public_key()) not in listed:
        raise AnchorError(
            f"The signing key (id {key_id(key.public_key())}) is not among ANCHOR_PUBLIC_KEYS: a wrong key? "
            "Anchors it signed would not verify. Use the right key, or add its public key "
            f"{public_key_text(key.public_key())} to ANCHOR_PUBLIC_KEYS if it is a new one."
        )
    return key


def _public_key(text: str, where: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != 32:
        raise AnchorError(f"{where}: {text[:60]!r} is not base64 of a 32-byte Ed25519 public key.")
    return Ed25519PublicKey.from_public_bytes(raw)


def _listed_keys() -> dict[str, Ed25519PublicKey]:
    keys = [_public_key(text, "ANCHOR_PUBLIC_KEYS") for text in settings.ANCHOR_PUBLIC_KEYS]
    return {key_id(key): key for key in keys}


def trusted_keys(extra: list[str] = ()) -> dict[str, Ed25519PublicKey]:
    """Public keys by id: ANCHOR_PUBLIC_KEYS, `extra` (base64), and the signing key's own when one
    is configured and usable."""
    keys = _listed_keys()
    for text in extra:
        key = _public_key(text, "--trust")
        keys[key_id(key)] = key
    if settings.ANCHOR_SIGNING_KEY or settings.ANCHOR_SIGNING_KEY_FILE:
        try:
            own = signing_key().public_key()
        except AnchorError:
            pass  # anchor_chains reports it; verification uses the listed keys
        else:
            keys[key_id(own)] = own
    return keys


def sign(heads: list[Head], key: Ed25519PrivateKey, *, at: datetime) -> tuple[str, str, str]:
    """(payload, signature, key id) of an anchor of `heads` made at `at`."""
    kid = key_id(key.public_key())
    body = {
        "format": FORMAT,
        "anchored_at": at.isoformat(),
        "key_id": kid,
        "chains": [{"village_id": h.village_id, "village": h.village, "seq": h.seq, "hash": h.hash} for h in heads],
    }
    payload = _canonical(body)
    return payload, base64.b64encode(key.sign(payload.encode())).decode(), kid


def parse(payload: str, signature: str, *, source: str) -> Anchor:
    """An Anchor from its signed text; AnchorError when the text is not an anchor."""
    try:
        body = json.loads(payload)
        if body.get("format") != FORMAT:
            raise ValueError(f"format is {body.get('format')!r}, not {FORMAT!r}")
        heads = tuple(
            Head(int(c["village_id"]), str(c["village"]), int(c["seq"]), str(c["hash"])) for c in body["chains"]
        )
        return Anchor(
            payload=payload,
            signature=signature,
            key_id=str(body["key_id"]),
            anchored_at=datetime.fromisoformat(body["anchored_at"]),
            heads=heads,
            source=source,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AnchorError(f"{source} is corrupt: {exc}.") from None


def check_signature(anchor: Anchor, keys: dict[str, Ed25519PublicKey]) -> None:
    """Raises AnchorError unless `anchor` is signed by one of `keys` and unaltered since."""
    key = keys.get(anchor.key_id)
    if key is None:
        raise AnchorError(
            f"{anchor} is signed by key {anchor.key_id}, which is not trusted here "
            "(list its public key in ANCHOR_PUBLIC_KEYS, or pass --trust)."
        )
    try:
        key.verify(base64.b64decode(anchor.signature, validate=True), anchor.payload.encode())
    except (InvalidSignature, binascii.Error, ValueError):
        raise AnchorError(f"{anchor}: the signature does not verify (the anchor was altered or forged).") from None


def from_row(row) -> Anchor:
    return parse(row.payload, row.signature, source=f"anchor #{row.pk}")


def latest(keys: dict[str, Ed25519PublicKey]) -> tuple[Anchor | None, list[str]]:
    """The newest anchor of the database whose signature verifies with `keys`, and one problem per
    anchor that does not verify (every row is checked: a forged or altered anchor is tampering)."""
    from traceability.models import Anchor as AnchorRow

    found, problems = None, []
    for row in AnchorRow.objects.order_by("-created_at", "-id").iterator():
        try:
            anchor = from_row(row)
            check_signature(anchor, keys)
        except AnchorError as exc:
            problems.append(str(exc))
            continue
        if found is None:
            found = anchor
    return found, problems


def to_file(anchor: Anchor, public_key: str = "") -> bytes:
    """The small file an auditor or partner keeps: the anchor itself, its signature and, for
    their information, the public key (they check it against the one they were given)."""
    body = {"anchor": json.loads(anchor.payload), "signature": anchor.signature, "public_key": public_key}
    return (json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def from_file(path: str) -> Anchor:
    """The anchor kept in a file; AnchorError saying what is wrong with a missing or corrupt one."""
    source = f"the anchor file {path}"
    try:
        body = json.loads(Path(path).read_bytes().decode())
    except OSError as exc:
        raise AnchorError(f"{source} cannot be read: {exc.strerror or exc}.") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise AnchorError(f"{source} is corrupt: not JSON ({exc}).") from None
    if not isinstance(body, dict) or not isinstance(body.get("anchor"), dict) or "signature" not in body:
        raise AnchorError(f"{source} is corrupt: it has no anchor and signature.")
    return parse(_canonical(body["anchor"]), str(body["signature"]), source=source)


def departure(village, anchor: Anchor, head: Head) -> str | None:
    """None while `village`'s chain still holds the event `anchor` recorded as its head, else what
    happened: cut short (it ends before the anchored seq) or rewritten (another event there)."""
    from django.db.models import Max

    from traceability.models import TraceEvent

    where = f"village {village.code} (id {village.pk})"
    last = TraceEvent.objects.filter(village=village).aggregate(last=Max("seq"))["last"] or 0
    if last < head.seq:
        return (
            f"{where}: the chain ends at seq {last} but {anchor} covers seq {head.seq}: "
            f"{head.seq - last} event(s) were removed from its end"
        )
    found = TraceEvent.objects.filter(village=village, seq=head.seq).values_list("hash", flat=True).first()
    if found != head.hash:
        return (
            f"{where}, seq {head.seq}: the stored event is not the event anchored by {anchor} (another hash): "
            "the chain was rewritten at or before this seq"
        )
    return None


def anchor_chains(*, key: Ed25519PrivateKey, progress=None):
    """Anchor every village chain's head, signed with `key`, after checking that each chain links
    up from the previous anchor's head (the whole chain the first time) to its head now.

    Returns (the new Anchor row, or None when no chain has grown since the latest anchor; the
    latest Anchor). `progress(village, events_read)` is called while chains are walked (events
    read over all chains so far).
    Side effects: one Anchor row; each anchored village's ChainCheck gets the anchored seq and
    time. Refuses (AnchorError, writing nothing): an anchor in the database that does not verify,
    a chain that departs from the previous anchor, a chain with a broken link.
    """
    from django.db import transaction
    from django.db.models import Max

    from farms.models import Village
    from traceability import chain
    from traceability.models import Anchor as AnchorRow
    from traceability.models import ChainCheck, TraceEvent

    previous, bad = latest(trusted_keys())
    problems = list(bad)
    last = dict(TraceEvent.objects.order_by().values("village_id").annotate(last=Max("seq")).values_list(
        "village_id", "last"))  # fmt: skip
    ids = set(last) | {head.village_id for head in previous.heads} if previous else set(last)
    heads, walked = [], 0
    for village in Village.objects.filter(pk__in=ids).order_by("pk"):
        after = (0, chain.GENESIS)
        anchored = previous.head(village.pk) if previous else None
        if anchored is not None:
            problem = departure(village, previous, anchored)
            if problem:
                problems.append(problem)
                continue
            after = (anchored.seq, anchored.hash)
        report = (lambda read, v=village, done=walked: progress(v, done + read)) if progress else None
        walk = chain.walk_village(village, after=after, upto=last.get(village.pk, 0), progress=report)
        walked += walk.events
        if walk.broken is not None:
            problems.append(str(walk.broken))
        elif walk.seq:
            heads.append(Head(village.pk, village.code, walk.seq, walk.hash))
    if problems:
        raise AnchorError(
            "Anchoring refused, nothing written: the record does not verify (run verify_events).\n"
            + "\n".join(problems)
        )
    if previous is not None and set(heads) == {Head(h.village_id, h.village, h.seq, h.hash) for h in previous.heads}:
        return None, previous
    now = timezone.now()
    payload, signature, kid = sign(heads, key, at=now)
    with transaction.atomic():
        row = AnchorRow.objects.create(created_at=now, key_id=kid, payload=payload, signature=signature)
        for head in heads:
            ChainCheck.objects.update_or_create(
                village_id=head.village_id, defaults={"anchored_seq": head.seq, "anchored_at": now}
            )
    return row, from_row(row)
