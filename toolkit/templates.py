"""The jinja2 environment that shapes PowerShell scripts, and the ``ps_literal`` quoting filter.

jinja2 only *shapes* a script (optional sections, feature switches). Values never pass through it: they
are parameters of the script's ``param()`` block, sent by the transport as PSRP parameters. The one
place a value is shown inline is a preview, and there it goes through :func:`ps_literal`.
"""

from __future__ import annotations

import importlib.resources
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.errors import TemplateError

if TYPE_CHECKING:  # jinja2 is imported when a script is first rendered: listing actions or --help needs none
    import jinja2

TEMPLATE_PACKAGE = "toolkit.ps_templates"
ACTIONS_DIR_ENV = "JCFIX_ACTIONS_DIR"

# PowerShell's tokenizer treats all of these as a single quote, inside and at the ends of a
# single-quoted string; doubling one of them yields that character literally.
SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_SINGLE_QUOTE_RE = re.compile(f"([{SINGLE_QUOTES}])")

MARKER_RE = re.compile(r"^# jcfix-template: (?P<name>[a-z][a-z0-9_]*) v(?P<version>\d+)\s*$")


def ps_literal(value: object) -> str:
    """Render ``value`` as a single-quoted PowerShell string literal that decodes back to ``str(value)``.

    Every character PowerShell accepts as a single quote (``'`` and U+2018..U+201B) is doubled; nothing
    else is special inside a verbatim string, so ``$``, backticks, newlines and the rest stay inert.
    """
    text = value if isinstance(value, str) else str(value)
    return "'" + _SINGLE_QUOTE_RE.sub(r"\1\1", text) + "'"


def extra_dirs() -> list[Path]:
    """The folders named by ``JCFIX_ACTIONS_DIR`` (``os.pathsep``-separated): your own templates and declarations.

    The hook for adding an action without editing the package: a ``NAME.ps1.j2`` and a declaration module
    (``ACTION = Action(...)``) side by side there; shipped templates win a name clash.
    """
    return [Path(p) for p in os.environ.get(ACTIONS_DIR_ENV, "").split(os.pathsep) if p]


def _load_template(name: str) -> str | None:
    resource = importlib.resources.files(TEMPLATE_PACKAGE).joinpath(name)
    if resource.is_file():
        return resource.read_text(encoding="utf-8")
    for folder in extra_dirs():
        path = folder / name
        if "/" not in name and path.is_file():
            return path.read_text(encoding="utf-8")
    return None


@cache
def environment() -> jinja2.Environment:
    """The one jinja2 environment that renders every template (built, and jinja2 imported, on first use)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ps_literal"] = ps_literal
    return env


def __getattr__(name: str) -> Any:
    # ``ENVIRONMENT`` as a module attribute, built on first access (see :func:`environment`).
    if name == "ENVIRONMENT":
        return environment()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def template_names() -> list[str]:
    """The ``.ps1.j2`` files shipped in the package (shared pieces start with ``_``)."""
    root = importlib.resources.files(TEMPLATE_PACKAGE)
    return sorted(p.name for p in root.iterdir() if p.name.endswith(".ps1.j2"))


def template_source(name: str) -> str:
    """The raw text of a shipped template."""
    text = _load_template(name)
    if text is None:
        raise TemplateError(f"no template named {name!r}")
    return text


def render_template(name: str, options: Mapping[str, Any]) -> str:
    """Render template ``name`` with jinja2 ``options`` (shape switches only, never values)."""
    import jinja2

    try:
        return environment().get_template(name).render(**options)
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template {name!r}: missing template {exc.name!r}") from None
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"template {name!r}: undefined variable: {exc.message}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template {exc.name or name!r} line {exc.lineno}: {exc.message}") from None


def read_marker(script: str) -> tuple[str, int] | None:
    """The ``(template name, version)`` from a script's first line, or None when it has no marker."""
    first_line = script.split("\n", 1)[0].rstrip("\r")
    match = MARKER_RE.match(first_line)
    if match is None:
        return None
    return match["name"], int(match["version"])


@dataclass(frozen=True)
class RenderedScript:
    """A rendered action: the script text and the parameter values that travel beside it."""

    action: str
    version: int
    script: str
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def preview(self) -> str:
        """The script exactly as sent, then its parameters as a PowerShell hashtable (secrets redacted).

        The whole preview is valid PowerShell: every value is a :func:`ps_literal` (or ``$true``,
        ``$false``, a number, an ``@()`` array), so a value that spans lines or holds quotes cannot
        change what a reader, or a parser, sees.
        """
        lines = [self.script.rstrip("\n"), "", PREVIEW_SEPARATOR, "$JcfixParameters = @{"]
        for key, value in self.parameters.items():
            lines.append(f"    {key} = {preview_value(value)}")
        lines.append("}")
        return "\n".join(lines) + "\n"


PREVIEW_SEPARATOR = "# ---- parameters, sent as PSRP parameters (not part of the script) ----"


def preview_value(value: Any) -> str:
    """One parameter value as PowerShell would read it: a literal, an array, ``$true``/``$false``."""
    from toolkit.secrets import REDACTED, Secret

    if isinstance(value, Secret):
        return ps_literal(REDACTED)
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "@(" + ", ".join(preview_value(v) for v in value) + ")"
    return ps_literal(value)
