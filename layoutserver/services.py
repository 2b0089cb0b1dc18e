"""What the domains' services share (``layoutserver.content.service``,
``layoutserver.ads.config_service``): the errors they raise, the :class:`Resource` each kind is
served as, and :class:`Domain`, the reads and writes every service makes alike.

A service writes through its domain's importer, so an object created or changed by the API or
the console is exactly what importing it would make: one write path per concept. The API maps
the errors to 404, 422 and 409, the console to messages beside their fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from layoutserver.auth.audit import Action, record_change
from layoutserver.db import take_write_lock
from layoutserver.importing import ImportJob

Dump = dict[str, Any]
"""A resource as the services show it: the import format."""
Messages = dict[Any, Any]
"""Each field's messages, nested as marshmallow nests them (``{"articles": {0: [...]}}``)."""



class ServiceError(Exception):
    """Base of the errors a service operation raises."""


class NotFound(ServiceError, LookupError):
    def __init__(self, kind: str, key: str) -> None:
        self.kind, self.key = kind, key
        super().__init__(f"there is no {kind.replace('_', ' ')} {key!r}")


class Invalid(ServiceError, ValueError):
    """Bad input; ``messages`` maps each field to its messages (marshmallow's shape)."""

    def __init__(self, messages: Messages) -> None:
        self.messages = messages
        super().__init__(f"invalid input: {messages}")


class Conflict(ServiceError):
    """The change clashes with what is stored (a key taken, a row still referenced)."""

    def __init__(self, message: str, messages: Messages | None = None) -> None:
        self.messages = messages or {}
        super().__init__(message)


@dataclass(frozen=True)
class Resource:
    """One kind of resource: its model, the import schema it is validated with, the field
    naming it (its key) and the list of the import document that holds it."""

    kind: str
    model: type[Any]
    schema: type[Schema]
    key: str
    doc: str

    def input_schema(self, *, partial: bool = False) -> Schema:
        """The schema a create (or, ``partial``, an update: every field optional, the key not
        allowed) validates with."""
        if partial:
            return self.schema(partial=True, exclude=(self.key,))
        return self.schema()

    def load(self, data: Any, *, partial: bool = False) -> dict[str, Any]:
        """``data`` validated by :meth:`input_schema`; ``Invalid``."""
        if not isinstance(data, Mapping):
            raise Invalid({"_schema": ["Invalid input type."]})
        try:
            loaded: dict[str, Any] = self.input_schema(partial=partial).load(data)
        except ValidationError as error:
            messages = error.messages
            raise Invalid(messages if isinstance(messages, dict) else {"_schema": messages}
                          ) from error
        return loaded

    def find(self, session: Session, key: str, *, lock: bool = False) -> Any:
        """The row named ``key``; ``NotFound``. ``lock``: hold it until the transaction ends
        (``SELECT ... FOR UPDATE``; on SQLite, which has no row locks, the database's write
        lock), for a check, such as If-Match, that the change made next relies on."""
        query = select(self.model).where(getattr(self.model, self.key) == key)
        if lock:
            query = query.with_for_update(of=self.model)
            take_write_lock(session, self.model)
        row = session.scalar(query)
        if row is None:
            raise NotFound(self.kind, key)
        return row

    def check_free(self, session: Session, key: str) -> None:
        """``Conflict`` when a row is already named ``key``."""
        column = getattr(self.model, self.key)
        if session.scalar(select(self.model.id).where(column == key)) is not None:
            raise Conflict(f"there is already a {self.kind.replace('_', ' ')} {key!r}",
                           {self.key: [f"Already taken: {key!r}."]})

    def document(self, kinds: Iterable[str], loaded: dict[str, Any]) -> dict[str, list[Any]]:
        """An import document (of the lists ``kinds``) holding ``loaded`` alone."""
        doc: dict[str, list[Any]] = {name: [] for name in kinds}
        doc[self.doc] = [loaded]
        return doc


@dataclass(frozen=True)
class Domain:
    """How one domain's service reads and writes its resources: through its importer
    (``importer(session, document)``, a document of the lists ``document``), shown by ``dump``,
    each change recorded in the audit log and then passed to ``bump(session, kind, key)``, which
    moves the domain's version in the same transaction."""

    resources: Mapping[Any, Resource]
    importer: Callable[[Session, dict[str, list[Any]]], ImportJob]
    document: tuple[str, ...]
    dump: Callable[[Any, Any], Dump]
    bump: Callable[[Session, Any, str], None]

    def get(self, session: Session, kind: str, key: str, *, lock: bool = False) -> Dump:
        """``kind`` ``key`` as shown; ``NotFound``. ``lock``: see :meth:`Resource.find`."""
        return self.dump(kind, self.resources[kind].find(session, key, lock=lock))

    def write(self, session: Session, kind: str, loaded: dict[str, Any]) -> None:
        """Check ``loaded``'s references and write it, as importing it would; ``Invalid``."""
        job = self.importer(session, self.resources[kind].document(self.document, loaded))
        problems = job.errors()
        if problems:
            raise Invalid(import_messages(problems))
        job.write()
        session.flush()

    def create(self, session: Session, actor: str, kind: str, loaded: dict[str, Any]) -> Dump:
        """Create a ``kind`` from ``loaded`` (its input, validated); ``Invalid`` or
        ``Conflict`` (its key is taken)."""
        key = loaded[self.resources[kind].key]
        self.resources[kind].check_free(session, key)
        self.write(session, kind, loaded)
        after = self.get(session, kind, key)
        self.changed(session, actor, "create", kind, key, None, after)
        return after

    def update(
        self, session: Session, actor: str, kind: str, key: str, data: Any,
        load: Callable[[Any], dict[str, Any]],
    ) -> Dump:
        """Merge ``data`` into ``kind`` ``key`` (the fields given replace those shown) and
        write the result, validated as a whole by ``load``; ``NotFound`` or ``Invalid``. An
        update that changes nothing is not recorded and moves no version."""
        resource = self.resources[kind]
        row = resource.find(session, key)
        resource.load(data, partial=True)  # unknown fields, the key
        before = self.dump(kind, row)
        self.write(session, kind, load({**before, **data}))
        session.expire(row)
        after = self.get(session, kind, key)
        if after != before:
            self.changed(session, actor, "update", kind, key, before, after)
        return after

    def remove(self, session: Session, actor: str, kind: str, key: str, row: Any) -> None:
        """Delete ``row`` (``kind`` ``key``, which the caller checked may go)."""
        before = self.dump(kind, row)
        session.delete(row)
        session.flush()
        self.changed(session, actor, "delete", kind, key, before, None)

    def changed(
        self, session: Session, actor: str, action: Action, kind: str, key: str,
        before: Dump | None, after: Dump | None,
    ) -> None:
        record_change(session, actor, action, kind, key, before, after)
        self.bump(session, kind, key)


_PROBLEM = re.compile(r"^[a-z_]+\[0\](?:\.([^:]+))?: (.*)$", re.DOTALL)
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def import_messages(problems: Sequence[str]) -> Messages:
    """An import of one object's problems (``line_items[0].targeting.slots[2]: Unknown slot
    'x'.``) as that object's field messages, nested as marshmallow nests them
    (``{"targeting": {"slots": {2: ["Unknown slot 'x'."]}}}``)."""
    messages: Messages = {}
    for problem in problems:
        match = _PROBLEM.match(problem)
        path, message = (match.group(1) or "", match.group(2)) if match else ("", problem)
        node = messages
        steps: list[Any] = [int(index) if index else name
                            for name, index in _STEP.findall(path)] or ["_schema"]
        for step in steps[:-1]:
            found = node.setdefault(step, {})
            if isinstance(found, list):  # the field has messages of its own and nested ones
                found = node[step] = {"_schema": found}
            node = found
        last = node.setdefault(steps[-1], [])
        (last.setdefault("_schema", []) if isinstance(last, dict) else last).append(message)
    return messages
