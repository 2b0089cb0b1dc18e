"""marshmallow schemas of content as it arrives (the import format, docs/content-format.md)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from layoutserver.validation import SITE_URL, pattern, references

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
NAIVE_DATETIME = "Not a valid datetime: it needs a UTC offset, e.g. 2024-10-10T09:00:00-04:00."
URL_ERROR = "Not a valid URL: use http(s):// or a path starting with '/'."


#: The longest texts a piece of content may hold (characters; items): far above any real
#: article (a long one is some 50,000 characters), low enough that one edit cannot fill a
#: cache entry, a page or a database row with megabytes.
MAX_BODY_HTML = 500_000
MAX_EXCERPT = 2_000
MAX_BIO = 5_000
MAX_TAGS = 50
MAX_LIST_ARTICLES = 100
MAX_IMAGE_SIDE = 20_000


def _slug(max_length: int = 200, **kwargs: Any) -> fields.String:
    slug_error = "Not a valid slug: use lower-case letters, digits and single hyphens."
    checks = [validate.Length(max=max_length), pattern(SLUG_PATTERN, slug_error)]
    return fields.String(validate=checks, **kwargs)


def _text(max_length: int | None = None, **kwargs: Any) -> fields.String:
    """Required, non-empty text unless ``kwargs`` give a default."""
    checks = [validate.Length(max=max_length)]
    if required := "load_default" not in kwargs:
        checks.append(validate.Length(min=1, error="Must not be empty."))
    return fields.String(required=required, validate=checks, **kwargs)


class SectionSchema(Schema):
    slug = _slug(required=True)
    name = _text(200)


class AuthorSchema(Schema):
    slug = _slug(required=True)
    name = _text(200)
    bio = _text(MAX_BIO, load_default="")
    avatar_url = fields.String(
        load_default=None, allow_none=True,
        validate=[validate.Length(max=500), pattern(SITE_URL, URL_ERROR)],
    )
    url = fields.String(
        load_default=None, allow_none=True,
        validate=[validate.Length(max=500), pattern(SITE_URL, URL_ERROR)],
        metadata={"description": "The author's profile page (structured data links to it)."},
    )


class ImageSchema(Schema):
    url = fields.String(required=True,
                        validate=[validate.Length(max=500), pattern(SITE_URL, URL_ERROR)])
    alt = _text(500)
    width = fields.Integer(load_default=None, allow_none=True,
                           validate=validate.Range(min=1, max=MAX_IMAGE_SIDE))
    height = fields.Integer(load_default=None, allow_none=True,
                            validate=validate.Range(min=1, max=MAX_IMAGE_SIDE))


class ArticleSchema(Schema):
    slug = _slug(required=True)
    title = _text(500)
    excerpt = _text(MAX_EXCERPT, load_default="")
    body_html = fields.String(required=True, validate=validate.Length(max=MAX_BODY_HTML))
    published_at = fields.AwareDateTime(
        format="iso", required=True, error_messages={"invalid_awareness": NAIVE_DATETIME}
    )
    modified_at = fields.AwareDateTime(
        format="iso", load_default=None, allow_none=True,
        error_messages={"invalid_awareness": NAIVE_DATETIME},
        metadata={"description": "When the article last changed. Set by the server when a "
                                 "change leaves it as it was; a value given is kept."})
    section = _slug(load_default=None, allow_none=True,
                    metadata=references("a section's slug"))
    author = _slug(load_default=None, allow_none=True, metadata=references("an author's slug"))
    tags = fields.List(_text(100), load_default=list, validate=validate.Length(max=MAX_TAGS))
    image = fields.Nested(ImageSchema, load_default=None, allow_none=True,
                          metadata={"description": "The lead image (for shared links and "
                                                   "structured data)."})


class EditorialListSchema(Schema):
    name = _slug(100, required=True)
    title = _text(200)
    articles = fields.List(_slug(required=True), required=True,
                           validate=validate.Length(max=MAX_LIST_ARTICLES),
                           metadata=references("articles' slugs"))


class DocumentSchema(Schema):
    sections = fields.List(fields.Nested(SectionSchema), load_default=list)
    authors = fields.List(fields.Nested(AuthorSchema), load_default=list)
    articles = fields.List(fields.Nested(ArticleSchema), load_default=list)
    editorial_lists = fields.List(fields.Nested(EditorialListSchema), load_default=list)
