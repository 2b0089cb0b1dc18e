"""The errors the service layer raises, shared by every domain (content, ads): the API maps
them to 404, 422 and 409, the console to messages beside their fields."""

from __future__ import annotations

from typing import Any

Messages = dict[str, Any]


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
