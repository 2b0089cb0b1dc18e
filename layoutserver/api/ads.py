"""``/api/v1/ad-slots``, ``/advertisers``, ``/campaigns``, ``/line-items`` and ``/creatives``.

Each family is a collection (GET a page, filtered; POST a new one) and an item (GET, PATCH,
DELETE) named as the ads import format names it: a slot by its code, the others by name. Reading
takes any role, changing ``adops`` or ``admin``. Items carry an ETag; PATCH and DELETE need a
matching ``If-Match`` (428 without one, 412 on a stale one). The rules themselves are in
:mod:`layoutserver.ads.config_service`; every change is live on the next ad decision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any

from flask import Blueprint as FlaskBlueprint
from flask import Response, current_app, request, send_from_directory
from flask import abort as flask_abort
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from flask_smorest.fields import Upload
from marshmallow import Schema
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from layoutserver.ads import config_service as service
from layoutserver.api import schemas
from layoutserver.api.auth import principal, require
from layoutserver.api.families import resource_family, service_session
from layoutserver.core import get_core


@contextmanager
def _session() -> Iterator[Session]:
    """:func:`service_session`, with the upload errors too."""
    try:
        with service_session() as session:
            yield session
    except service.TooLarge as error:
        abort(413, message=str(error).capitalize() + ".")
    except service.Unsupported as error:
        abort(415, message="Upload a PNG, JPEG, GIF or WebP image (SVG is refused): "
                           f"{error}.")


class _AdsService:
    """The ads service as a family's views call it (creating and updating take the site time
    zone, in which the import format reads naive datetimes)."""

    @staticmethod
    def list_items(session: Session, kind: service.Kind, *, offset: int, limit: int,
                   filters: dict[str, Any]) -> tuple[list[Any], int]:
        items, total = service.list_items(session, kind, offset=offset, limit=limit,
                                          filters=filters)
        return list(items), total

    @staticmethod
    def get(session: Session, kind: service.Kind, key: str, *, lock: bool = False) -> Any:
        return service.get(session, kind, key, lock=lock)

    @staticmethod
    def create(session: Session, actor: str, kind: service.Kind, body: dict[str, Any]) -> Any:
        return service.create(session, actor, kind, body, get_core(current_app).timezone)

    @staticmethod
    def update(session: Session, actor: str, kind: service.Kind, key: str,
               body: dict[str, Any]) -> Any:
        return service.update(session, actor, kind, key, body, get_core(current_app).timezone)

    @staticmethod
    def delete(session: Session, actor: str, kind: service.Kind, key: str) -> None:
        service.delete(session, actor, kind, key)


def _family(
    kind: service.Kind, path: str, key: str, shown: type[Schema], created: type[Schema],
    updated: type[Schema], query: type[Schema] | None = None,
) -> Blueprint:
    # Names (not codes) may hold a slash: the item key takes the rest of the path.
    return resource_family(
        kind=kind, path=path, key=key, name=path.strip("/").replace("-", "_"),
        import_name=__name__, area="ads", service=_AdsService(), scope=_session, shown=shown,
        created=created, updated=updated, query=query, key_rule="path",
    )


ad_slots = _family("slot", "/ad-slots", "code", schemas.AdSlot, schemas.AdSlot,
                   schemas.AdSlotUpdate, schemas.AdSlotQuery)
advertisers = _family("advertiser", "/advertisers", "name", schemas.Advertiser,
                      schemas.Advertiser, schemas.AdvertiserUpdate)
campaigns = _family("campaign", "/campaigns", "name", schemas.Campaign, schemas.Campaign,
                    schemas.CampaignUpdate, schemas.CampaignQuery)
line_items = _family("line_item", "/line-items", "name", schemas.LineItem,
                     schemas.LineItemCreate, schemas.LineItemUpdate, schemas.LineItemQuery)
creatives = _family("creative", "/creatives", "name", schemas.Creative, schemas.Creative,
                    schemas.CreativeUpdate, schemas.CreativeQuery)



# -- creative images --------------------------------------------------------------------------

UPLOADS_URL = "/ads/uploads"
"""Where uploaded creative images are served (public: pages show them)."""
IMAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


class ImageUpload(Schema):
    file = Upload(required=True, metadata={
        "description": "A PNG, JPEG, GIF or WebP image (by its content); SVG is refused.",
        "x-rule": "Its content must be a PNG, JPEG, GIF or WebP image: 415 otherwise."})


def uploads_dir() -> Path:
    """``API_UPLOADS_DIR``, or ``ad-uploads`` in the instance folder when it is empty."""
    configured = current_app.config.get("API_UPLOADS_DIR") or ""
    return Path(configured) if configured else Path(current_app.instance_path) / "ad-uploads"


def _upload_limit(view: Callable[..., Any]) -> Callable[..., Any]:
    """413 before the form is parsed when the request says it is too large."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        limit = int(current_app.config["API_UPLOAD_MAX_BYTES"])
        if (request.content_length or 0) > limit + 64 * 1024:  # the form's own bytes
            abort(413, message=f"The upload is over {limit} bytes.")
        return view(*args, **kwargs)

    return wrapper


@creatives.route("/<path:name>/image")
class CreativeImage(MethodView):
    @require(creatives, "ads", write=True)
    @_upload_limit
    @creatives.etag
    @creatives.arguments(ImageUpload, location="files")
    @creatives.response(200, schemas.Creative)
    @creatives.alt_response(404, response="NOT_FOUND")
    @creatives.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @creatives.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    def post(self, upload: dict[str, FileStorage], name: str) -> Any:
        """Upload the creative's image (multipart, field ``file``): stored by the server,
        served at a stable URL that becomes its ``image_url``."""
        limit = int(current_app.config["API_UPLOAD_MAX_BYTES"])
        data = upload["file"].stream.read(limit + 1)  # a chunked upload says no length
        with _session() as session:
            return service.store_image(
                session, principal().name, name, data, directory=uploads_dir(),
                url_prefix=UPLOADS_URL, max_bytes=limit,
                max_side=int(current_app.config["API_UPLOAD_MAX_SIDE"]),
            )


uploads = FlaskBlueprint("ad_uploads", __name__)


@uploads.get(f"{UPLOADS_URL}/<filename>")
def uploaded_image(filename: str) -> Response:
    """An uploaded creative image. Its name is its content's hash: cached for a year."""
    extension = filename.rpartition(".")[2]
    if extension not in service.MEDIA_TYPES or filename.startswith("."):
        flask_abort(404)
    response = send_from_directory(uploads_dir(), filename, max_age=365 * 86400,
                                   mimetype=service.MEDIA_TYPES[extension])
    response.headers["Content-Security-Policy"] = IMAGE_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


BLUEPRINTS = (ad_slots, advertisers, campaigns, line_items, creatives)
