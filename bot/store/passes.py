"""One-pass reads for jobs: each collection read once, then worked through locally.

On FerretDB's SQLite backend (the dev server) any filter not on `_id` decodes the
whole collection, sorts happen in the server's memory, and an open read cursor blocks
our own writes (DESIGN §6). So a job that needs each member with, say, their
purchases must not ask for one member's purchases at a time (a full read each:
quadratic), nor hold a sorted cursor open while it writes. Instead it reads the
members once and the purchases once, spools both into temporary files split by
member, and then works through one part at a time: every collection is read once,
memory holds one part (a few thousand members and their documents), and nothing is
written while a cursor is open. MongoDB does the same reads, each in one go.
"""

from __future__ import annotations

import math
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator

import bson
from bson.codec_options import CodecOptions
from pymongo.collection import Collection

CODEC = CodecOptions(tz_aware=True)
READ_BATCH = 1000
MEMBERS_PER_PART = 5000
KEYS_PER_PART = 50_000
MAX_PARTS = 256  # temporary files open at once per collection


class Spool:
    """Documents kept in a temporary file, to be read back (as often as needed)."""

    def __init__(self) -> None:
        # Kept open across calls and closed by `close` (or when collected).
        self._file = tempfile.TemporaryFile()  # noqa: SIM115
        self.count = 0
        self._end = 0
        self._appending = True  # the file is positioned at its end

    def add(self, doc: dict) -> int:
        """Append a document; returns where it starts (for `read_at`)."""
        if not self._appending:
            self._file.seek(self._end)
            self._appending = True
        offset = self._end
        encoded = bson.encode(doc)
        self._file.write(encoded)
        self._end += len(encoded)
        self.count += 1
        return offset

    def read_at(self, offset: int) -> dict:
        self._appending = False
        self._file.seek(offset)
        size = int.from_bytes(self._file.read(4), "little")
        self._file.seek(offset)
        return bson.decode(self._file.read(size), CODEC)

    def __iter__(self) -> Iterator[dict]:
        self._appending = False
        self._file.seek(0)
        yield from bson.decode_file_iter(self._file, CODEC)

    def pages(self, size: int) -> Iterator[list[dict]]:
        page: list[dict] = []
        for doc in self:
            page.append(doc)
            if len(page) == size:
                yield page
                page = []
        if page:
            yield page

    def close(self) -> None:
        self._file.close()


def spool(collection: Collection, query: dict, fields: dict | None = None) -> Spool:
    """Read `collection` once, completely, before anyone writes (FerretDB: no open cursor)."""
    spooled = Spool()
    for doc in collection.find(query, fields).batch_size(READ_BATCH):
        spooled.add(doc)
    return spooled


def sorted_pages(
    collection: Collection, query: dict, fields: dict | None, size: int, key: str = "_id"
):
    """Pages of the matching documents in `key` order, from one unsorted read.

    The server is not asked to sort: FerretDB sorts whole documents in its memory (1.6 GB
    for the purchases of 20,000 members). Only each document's key and where it lies in
    the spool are held here.
    """
    spooled = Spool()
    try:
        where = sorted(
            (doc[key], spooled.add(doc))
            for doc in collection.find(query, fields).batch_size(READ_BATCH)
        )
        for start in range(0, len(where), size):
            yield [spooled.read_at(offset) for _key, offset in where[start : start + size]]
    finally:
        spooled.close()


def grouped(collection: Collection, query: dict, key: str, order: str, per_part=KEYS_PER_PART):
    """(key, its documents in `order`) for every value of `key`, from one unsorted read.

    Memory holds one part of the documents (split by the key's hash) at a time.
    """
    spooled = spool(collection, query)
    parts = min(MAX_PARTS, max(1, math.ceil(spooled.count / per_part)))
    spools = [spooled] if parts == 1 else _split(spooled, parts, key)
    try:
        for part in spools:
            groups = defaultdict(list)
            for doc in part:
                groups[doc[key]].append(doc)
            for value in sorted(groups, key=str):
                yield value, sorted(groups[value], key=lambda doc: doc[order])
    finally:
        for part in (*spools, spooled):
            part.close()


def _part(value, parts: int) -> int:
    return zlib.crc32(str(value).encode()) % parts


def _split(docs: Iterable[dict], parts: int, key: str) -> list[Spool]:
    spools = [Spool() for _ in range(parts)]
    for doc in docs:
        spools[_part(doc[key], parts)].add(doc)
    return spools


def unmatched(docs: Spool, key: str, known: Spool, per_part: int = KEYS_PER_PART):
    """The documents of `docs` whose `key` is no `_id` in `known` (what a backfill adds).

    Both are split by the key's hash, so memory holds one part's keys at a time.
    """
    parts = min(MAX_PARTS, max(1, math.ceil(max(docs.count, known.count) / per_part)))
    doc_parts = [docs] if parts == 1 else _split(docs, parts, key)
    known_parts = [known] if parts == 1 else _split(known, parts, "_id")
    try:
        for part in range(parts):
            seen = {doc["_id"] for doc in known_parts[part]}
            for doc in doc_parts[part]:
                if doc[key] not in seen:
                    yield doc
    finally:
        for spooled in (*doc_parts, *known_parts, docs, known):
            spooled.close()


def member_groups(
    db,
    members_query: dict,
    member_fields: dict | None,
    related: dict[str, tuple[str, dict, dict | None]],
    per_part: int = MEMBERS_PER_PART,
) -> Iterator[list[tuple[dict, dict[str, list[dict]]]]]:
    """Pages of (member, {name: their documents}) for every member matching the query.

    `related` names, for each kind of document, (collection, query, fields); the
    documents are matched to members by their `member_id`. Each collection is read
    once; a page is one part of the members (by a hash of the id), in `_id` order.
    """
    members = spool(db.members, members_query, member_fields)
    parts = min(MAX_PARTS, max(1, math.ceil(members.count / per_part)))
    member_parts = [members] if parts == 1 else _split(members, parts, "_id")
    if parts > 1:
        members.close()
    related_parts = {}
    for name, (collection, query, fields) in related.items():
        wanted = None if fields is None else {**fields, "member_id": 1}
        cursor = db[collection].find(query, wanted).batch_size(READ_BATCH)
        related_parts[name] = _split(cursor, parts, "member_id")
    try:
        for part in range(parts):
            grouped: dict[str, dict] = {}
            for name, spools in related_parts.items():
                grouped[name] = defaultdict(list)
                for doc in spools[part]:
                    grouped[name][doc["member_id"]].append(doc)
            page = sorted(member_parts[part], key=lambda doc: str(doc["_id"]))
            yield [
                (member, {name: grouped[name].get(member["_id"], []) for name in related})
                for member in page
            ]
    finally:
        for spools in (member_parts, *related_parts.values()):
            for spooled in spools:
                spooled.close()
