"""User-facing errors: each becomes one line on stderr and a documented exit code, never a traceback."""

from __future__ import annotations


class JcfixError(Exception):
    """Base class for errors that jcfix explains to the user in one line."""

    exit_code = 2


class UsageError(JcfixError):
    """Bad input detected before anything connects (unknown template, malformed --param, bad host...)."""

    exit_code = 2


class TemplateError(JcfixError):
    """A template is missing, fails to render, or references an undefined variable."""

    exit_code = 2
