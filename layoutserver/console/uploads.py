"""Uploading a creative's image from its page: ``POST /admin/creatives/image/<name>``
(multipart, field ``file``), stored by :func:`layoutserver.ads.config_service.store_image` exactly
as the API's upload stores it (PNG, JPEG, GIF or WebP by content, SVG refused, at most
``API_UPLOAD_MAX_BYTES``), and made the creative's ``image_url``."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from layoutserver.ads import config_service as ads_service
from layoutserver.api.ads import UPLOADS_URL, uploads_dir
from layoutserver.console.access import current_user, requires
from layoutserver.console.blueprint import blueprint
from layoutserver.db import get_database
from layoutserver.services import Invalid, NotFound


@blueprint.post("/creatives/image/<path:name>")
@requires("ads", write=True)
def upload_image(name: str) -> Response:
    limit = int(current_app.config["API_UPLOAD_MAX_BYTES"])
    upload = request.files.get("file")
    back = redirect(url_for("console.edit", path="creatives", key=name))
    if upload is None or not upload.filename:
        flash("Choose an image file to upload.", "error")
        return back
    data = upload.stream.read(limit + 1)
    try:
        with get_database().session() as session:
            ads_service.store_image(session, current_user().actor, name, data,
                                    directory=uploads_dir(), url_prefix=UPLOADS_URL,
                                    max_bytes=limit,
                                    max_side=int(current_app.config["API_UPLOAD_MAX_SIDE"]))
    except NotFound as error:
        abort(404, str(error))
    except Invalid as error:
        flash("Not uploaded: " + " ".join(error.messages.get("file", [str(error)])), "error")
    except (ads_service.TooLarge, ads_service.Unsupported) as error:
        flash(f"Not uploaded: {error}.", "error")
    else:
        flash(f"Uploaded the image of {name}.")
    return back
