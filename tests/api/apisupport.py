"""The API test client (importable as ``apisupport``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse


@dataclass
class Api:
    """A test client that sends ``role``'s token (``role=None``: no token)."""

    client: FlaskClient
    tokens: dict[str, str]

    def call(
        self, method: str, path: str, role: str | None = "admin", **kwargs: Any
    ) -> TestResponse:
        headers = dict(kwargs.pop("headers", {}))
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path: str, role: str | None = "admin", **kwargs: Any) -> TestResponse:
        return self.call("GET", path, role, **kwargs)

    def post(self, path: str, role: str | None = "admin", **kwargs: Any) -> TestResponse:
        return self.call("POST", path, role, **kwargs)

    def patch(self, path: str, role: str | None = "admin", *, etag: str | None = None,
              **kwargs: Any) -> TestResponse:
        """PATCH with ``If-Match: etag`` (the item's current ETag when not given)."""
        headers = dict(kwargs.pop("headers", {}))
        headers.setdefault("If-Match", etag or self.etag(path))
        return self.call("PATCH", path, role, headers=headers, **kwargs)

    def delete(self, path: str, role: str | None = "admin", *, etag: str | None = None,
               **kwargs: Any) -> TestResponse:
        headers = dict(kwargs.pop("headers", {}))
        headers.setdefault("If-Match", etag or self.etag(path))
        return self.call("DELETE", path, role, headers=headers, **kwargs)

    def etag(self, path: str) -> str:
        response = self.get(path)
        assert response.status_code == 200, response.get_json()
        return str(response.headers["ETag"]).strip('"')
