"""Schemathesis over ``/api/openapi.json``, in-process: every operation, authorized as admin,
must give no server error and only responses the document describes (status code, content
type, body schema, headers).

Each operation gets up to ``EXAMPLES`` derandomized requests from the document (positive) and
as many that break it (negative), without shrinking. The loop over operations is ours rather
than ``schemathesis.pytest.from_fixture`` + ``parametrize``: that reads ``request.node._nodeid``,
which pytest 9 no longer has. Nothing is excluded: the image upload gets generated multipart
bodies too."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from layoutserver.ads.config_import import import_ads_file
from layoutserver.auth.tokens import create_token
from layoutserver.core import get_core
from layoutserver.db import get_database

REPO = Path(__file__).resolve().parents[2]
DEMO_ADS = REPO / "layoutserver" / "demo" / "ads.json"
ADS_SETTINGS = {"SECRET_KEY": "test-secret", "ADS_SEED": 7}
EXAMPLES = 10
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
)


def load_schema(make_app: Callable[..., Flask]) -> tuple[BaseSchema, dict[str, str]]:
    """The demo site with the demo ads, as schemathesis sees it, and an admin's headers."""
    app = make_app(settings=ADS_SETTINGS)
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    with get_database(app).session() as session:
        token = create_token(session, "schemathesis", "admin")
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app), {
        "Authorization": f"Bearer {token}"
    }


def check_operation(
    operation: APIOperation, mode: GenerationMode, headers: dict[str, str]
) -> list[str]:
    """Up to ``EXAMPLES`` requests generated in ``mode`` (derandomized): the failure found."""
    failures: list[str] = []

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as error:
            failures.append(f"{operation.label} ({mode.value}): {error}")
            raise

    with suppress(FailureGroup):  # hypothesis re-raises the failure recorded above
        run()
    return failures[-1:]


def test_api_conforms_to_its_document(make_app: Callable[..., Flask]) -> None:
    """Every operation, with an admin token: no 5xx, nothing the document does not describe."""
    schema, headers = load_schema(make_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    failures = [
        failure
        for operation in operations
        for mode in GenerationMode
        for failure in check_operation(operation, mode, headers)
    ]
    assert not failures, "\n\n".join(failures)
