"""Schemathesis over ``/api/openapi.json``, in-process, with every check it has: every
operation, authorized as admin, must give no server error, only responses the document
describes (status code, content type, body schema, headers), accept what the document calls
valid and refuse what it calls invalid; and a stateful run follows the document's links (create,
then get, patch and delete what was created) under the same checks.

Each operation gets up to ``EXAMPLES`` derandomized requests from the document (positive) and
as many that break it (negative), without shrinking. The loop over operations is ours rather
than ``schemathesis.pytest.from_fixture`` + ``parametrize``: that reads ``request.node._nodeid``,
which pytest 9 no longer has. Nothing is excluded: the image upload gets generated multipart
bodies too.

Some rules no schema can state: a name must be of an existing resource, a field depends on
another, ``If-Match`` must be the current ETag. The document states them as notes
(``x-references``, ``x-rule``; ``x-max-query-bytes`` and ``x-text`` at its root), and a
failure is accepted only when :data:`JUSTIFIED` names the note that announces it and the
response is that rule's answer. Generation leaves out NUL characters (``x-text``: the
server refuses them everywhere); 412, 413 and 414 count as refusals of negative data (an
If-Match that names no current ETag, however it is written, refuses the write; the body and
query limits of ``x-max-body-bytes`` and ``x-max-query-bytes``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis import Case, GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config._checks import NegativeDataRejectionConfig
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.schemas import APIOperation, BaseSchema

from layoutserver.ads.config_import import import_ads_file
from layoutserver.auth.tokens import create_token
from layoutserver.core import get_core
from layoutserver.db import get_database

REPO = Path(__file__).resolve().parents[2]
DEMO_ADS = REPO / "layoutserver" / "demo" / "ads.json"
# Uncompressed: schemathesis's WSGI client sends Accept-Encoding but does not decode what comes
# back (compression has tests of its own: tests/web/test_compression.py).
ADS_SETTINGS = {"SECRET_KEY": "test-secret", "ADS_SEED": 7, "COMPRESS_RESPONSES": False}
EXAMPLES = 10
STATEFUL_EXAMPLES = 40
STATEFUL_STEPS = 6
STATEFUL_SESSIONS = 20

load_all_checks()
ALL_CHECKS = CHECKS.get_by_names(CHECKS.get_all_names())

#: The failures the document announces, by the note that announces them: (the failure's kind,
#: the answer's status, the note) and why it is right.
JUSTIFIED: dict[tuple[str, int, str], str] = {
    ("RejectedPositiveData", 422, "x-references"):
        "The field names another resource (a slug, code or name) that must exist; a generated "
        "name almost never does.",
    ("RejectedPositiveData", 422, "x-rule"):
        "The field breaks a rule between fields that the note states (an end after its "
        "start, a creative's text for its kind, a report's range).",
    ("RejectedPositiveData", 412, "x-rule"):
        "If-Match must be the resource's current ETag (the note on IF_MATCH); a generated one "
        "never is.",
    ("RejectedPositiveData", 415, "x-rule"):
        "An uploaded file's content must be an image of the types the note lists; any bytes "
        "are a valid file to the schema.",
    ("RejectedPositiveData", 414, "x-max-query-bytes"):
        "The query string is over the document's x-max-query-bytes.",
}


def load_schema(make_app: Callable[..., Flask]) -> tuple[BaseSchema, dict[str, str]]:
    """The demo site with the demo ads, as schemathesis sees it, and an admin's headers."""
    app = make_app(settings=ADS_SETTINGS)
    import_ads_file(get_database(app), DEMO_ADS, get_core(app).timezone)
    with get_database(app).session() as session:
        token = create_token(session, "schemathesis", "admin")
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    # x-text: NUL is refused in every string, which a schema cannot say.
    schema.config.generation.allow_x00 = False
    # 412: a write refused for its If-Match (the server reads entity tags more leniently than
    # the document writes them); x-max-body-bytes, x-max-query-bytes: 413 and 414 refuse what
    # is too large.
    rejection = schema.config.checks.negative_data_rejection
    schema.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
        expected_statuses=[*rejection.expected_statuses, "412", "413", "414"])
    return schema, {"Authorization": f"Bearer {token}"}


# -- which failures the document announces ----------------------------------------------------


def _resolve(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _notes_along(document: dict[str, Any], node: Any, path: list[str]) -> set[str]:
    """The x- notes of the nodes of schema ``node`` that ``path`` (an error's keys) passes."""
    found: set[str] = set()
    for token in [None, *path]:
        if token is not None:
            properties = node.get("properties", {})
            if token in properties:
                node = properties[token]
            elif token.isdigit() and "items" in node:
                node = node["items"]
            elif isinstance(node.get("additionalProperties"), dict):
                node = node["additionalProperties"]
            else:
                break
        node = _resolve(document, node)
        if not isinstance(node, dict):
            break
        found |= {key for key in node if key in ("x-references", "x-rule")}
    return found


def _error_paths(errors: Any, path: list[str]) -> Iterator[list[str]]:
    if isinstance(errors, dict):
        for key, value in errors.items():
            yield from _error_paths(value, [*path, str(key)])
    else:
        yield path


def _field_notes(document: dict[str, Any], operation: APIOperation, body: Any) -> set[str]:
    """The notes every field a 422 names carries (empty when one carries none)."""
    errors = body.get("errors", {}) if isinstance(body, dict) else {}
    definition = operation.definition.raw
    parameters = [_resolve(document, p) for p in definition.get("parameters", [])]
    content = _resolve(document, definition.get("requestBody", {})).get("content", {})
    schema = next(iter(content.values()), {}).get("schema", {})
    common: set[str] | None = None
    for location, located in errors.items():
        for path in _error_paths(located, []):
            if location == "json":
                notes = _notes_along(document, schema, path)
            else:
                named = [p for p in parameters if p.get("name") == path[0]]
                notes = {key for p in named for key in p if key.startswith("x-")}
                notes |= {n for p in named for n in _notes_along(document, p.get("schema", {}),
                                                                 path[1:])}
            common = notes if common is None else common & notes
    return common or set()


def _announced(document: dict[str, Any], case: Case, response: Any, failure: Failure
               ) -> set[str]:
    """The notes of the document that announce ``failure``."""
    operation = case.operation
    status = response.status_code
    kind = type(failure).__name__
    if kind == "RejectedPositiveData" and status == 422:
        return _field_notes(document, operation, response.json())
    if kind == "RejectedPositiveData" and status == 412:
        parameters = [_resolve(document, p)
                      for p in operation.definition.raw.get("parameters", [])]
        return {"x-rule" for p in parameters
                if p.get("name") == "If-Match" and "x-rule" in p}
    if kind == "RejectedPositiveData" and status == 415:
        content = _resolve(document, operation.definition.raw.get("requestBody", {})).get(
            "content", {})
        return {note for media in content.values()
                for field in _resolve(document, media.get("schema", {})).get(
                    "properties", {}).values()
                for note in _resolve(document, field) if note == "x-rule"}
    if kind == "RejectedPositiveData" and status == 414:
        sent = response.request.url.partition("?")[2]
        return {"x-max-query-bytes"} if len(sent) > document["x-max-query-bytes"] else set()
    return set()


def unjustified(document: dict[str, Any], case: Case, response: Any,
                group: FailureGroup) -> list[str]:
    """The failures of ``group`` that no entry of :data:`JUSTIFIED` covers."""
    left = []
    for failure in group.exceptions:
        notes = _announced(document, case, response, failure)
        key = next(((type(failure).__name__, response.status_code, note) for note in notes
                    if (type(failure).__name__, response.status_code, note) in JUSTIFIED), None)
        if key is None:
            left.append(f"{case.operation.label}: {failure}\n-> {response.status_code} "
                        f"{response.text[:500]}\nquery {case.query!r}\nbody {case.body!r:.500}")
    return left


# -- the runs ---------------------------------------------------------------------------------


def check_operation(
    operation: APIOperation, mode: GenerationMode, headers: dict[str, str],
    document: dict[str, Any],
) -> list[str]:
    """Up to ``EXAMPLES`` requests generated in ``mode`` (derandomized): the first failure the
    document does not announce."""
    failures: list[str] = []

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        # The token is part of the case, so a case that leaves it out is no longer one that
        # breaks the document there (we always send it).
        case.headers = {**(case.headers or {}), **headers}
        response = case.call()
        try:
            case.validate_response(response, checks=ALL_CHECKS, headers=headers)
        except FailureGroup as error:
            left = unjustified(document, case, response, error)
            if left:
                failures.append(f"({mode.value}) " + "\n".join(left))
                raise

    with suppress(FailureGroup):  # hypothesis re-raises the failure recorded above
        run()
    return failures[-1:]


def test_api_conforms_to_its_document(make_app: Callable[..., Flask]) -> None:
    """Every operation, with an admin token, every check: nothing the document does not
    describe or announce."""
    schema, headers = load_schema(make_app)
    document = schema.raw_schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    failures = [
        failure
        for operation in operations
        for mode in GenerationMode
        for failure in check_operation(operation, mode, headers, document)
    ]
    assert not failures, "\n\n".join(failures)


def test_api_links_hold_in_a_stateful_run(make_app: Callable[..., Flask]) -> None:
    """Sequences that follow the document's links (create, then get, patch with the ETag the
    create answered, delete), every check on every step: ``STATEFUL_EXAMPLES`` sequences of up
    to ``STATEFUL_STEPS`` calls, seeded.

    The server's state carries over from one sequence to the next, so a sequence hypothesis
    replays may draw differently (``FlakyStrategyDefinition``); as schemathesis's own runner
    does, the run then goes on in a fresh session with the next seed."""
    schema, headers = load_schema(make_app)
    document = schema.raw_schema
    machine = schema.as_state_machine()
    failures: list[str] = []
    sequences = [0]

    class Authorized(machine):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            sequences[0] += 1

        def before_call(self, case: Case) -> None:
            case.headers = {**(case.headers or {}), **headers}

        def validate_response(self, response: Any, case: Case,
                              additional_checks: Any = None, **kwargs: Any) -> None:
            try:
                case.validate_response(response, checks=ALL_CHECKS, headers=headers)
            except FailureGroup as error:
                left = unjustified(document, case, response, error)
                if left:
                    failures.extend(left)
                    raise

    for seed in range(STATEFUL_SESSIONS):
        left = STATEFUL_EXAMPLES - sequences[0]
        if left <= 0 or failures:
            break
        Authorized._hypothesis_internal_use_seed = seed  # what @hypothesis.seed sets
        try:
            Authorized.run(settings=settings(
                max_examples=left, stateful_step_count=STATEFUL_STEPS, deadline=None,
                database=None, suppress_health_check=list(HealthCheck),
                phases=[Phase.generate]))
        except FlakyStrategyDefinition:
            continue
        except Exception:
            # After a failure hypothesis replays the sequence against a database the first
            # run changed, which may end in another error: the failure recorded is the finding.
            assert not failures, "\n\n".join(failures[:5])
            raise
    assert not failures, "\n\n".join(failures[:5])
    assert sequences[0] >= STATEFUL_EXAMPLES // 2, sequences[0]
