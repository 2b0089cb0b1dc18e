"""``layoutserver widgets new NAME``: a widget package to start from, made from the template in
``widget_template/``: the widget (options, cache policy, a stylesheet, the ``url_pattern``
convention), its entry point, and tests with layoutserver's fixtures that pass as generated.

Each ``*.tmpl`` file is a :class:`string.Template`; ``PACKAGE`` and ``WIDGET`` in a path are the
package's and the widget's names. Nothing is overwritten: an existing target is refused.
"""

from __future__ import annotations

from importlib import metadata, resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

from layoutserver.widgets import WIDGET_NAME

TEMPLATE_SUFFIX = ".tmpl"


class NewWidgetError(ValueError):
    """The widget cannot be made; the message says why."""


def new_widget(name: str, directory: Path) -> Path:
    """Write the package of a widget called ``name`` into ``directory`` and return its folder
    (``layoutserver-<name with dashes>``)."""
    if not WIDGET_NAME.match(name):
        raise NewWidgetError(f"{name!r} is not a widget name: lower-case letters, digits and "
                             f"underscores, starting with a letter (at most 64)")
    values = template_values(name)
    target = directory / values["distribution"]
    if target.exists():
        raise NewWidgetError(f"{target} exists already: nothing was written")
    source = resources.files("layoutserver") / "widget_template"
    for relative, template in _templates(source, Path()):
        path = target / Path(*(_rename(part, values) for part in relative.parts))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(template.read_text(encoding="utf-8")).substitute(values),
                        encoding="utf-8")
    return target


def template_values(name: str) -> dict[str, str]:
    version = metadata.version("layoutserver")
    major = int(version.split(".")[0])
    return {
        "name": name,
        "package": f"layoutserver_{name}",
        "distribution": f"layoutserver-{name.replace('_', '-')}",
        "class_name": "".join(part.capitalize() for part in name.split("_") if part),
        "title": name.replace("_", " ").capitalize(),
        "css_class": name.replace("_", "-"),
        "layoutserver_version": version,
        "next_major": f"{major + 1}" if major else f"0.{int(version.split('.')[1]) + 1}",
    }


def _templates(folder: Traversable, relative: Path) -> list[tuple[Path, Traversable]]:
    """Each template under ``folder``: the path it is written to (template suffix dropped,
    names not yet filled in), and the template."""
    found: list[tuple[Path, Traversable]] = []
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.is_dir():
            found.extend(_templates(entry, relative / entry.name))
        elif entry.name.endswith(TEMPLATE_SUFFIX):
            found.append((relative / entry.name.removesuffix(TEMPLATE_SUFFIX), entry))
    return found


def _rename(part: str, values: dict[str, str]) -> str:
    return part.replace("PACKAGE", values["package"]).replace("WIDGET", values["name"])
