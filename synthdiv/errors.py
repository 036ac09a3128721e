"""The one error family of synthdiv.

Every error a user can cause or fix is a :class:`SynthdivError`: it carries what went wrong
(naming the bad input) and how to fix it. The CLI prints it as one line and exits 2; the UI
shows it as a notification. Neither ever shows a traceback for one of these.
"""

from __future__ import annotations


class SynthdivError(Exception):
    """A problem the user can fix: ``problem`` names the bad input, ``fix`` says what to do."""

    title = "synthdiv"

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem.rstrip(".")
        self.fix = fix.rstrip(".")
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """One line: the problem, then the fix."""
        return f"{self.problem}: {self.fix}" if self.fix else self.problem


def first_line(text: str | None) -> str:
    """The first line of a stored error text ("" for none)."""
    return (text or "").strip().split("\n", 1)[0]


def first_line_of(exc: BaseException) -> str:
    """The first line of an exception's text, or its type's name when it has none (for messages
    that wrap a library's failure in one line)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe(exc: BaseException) -> str:
    """What to tell the user about ``exc``: a SynthdivError's one line, else its type and text."""
    return exc.message if isinstance(exc, SynthdivError) else f"{type(exc).__name__}: {exc}"


class ConfigError(SynthdivError):
    """The experiment configuration (a TOML file or its values) is invalid."""

    title = "Configuration"


class ClassSetError(SynthdivError):
    """A class set or class name is unknown or unreadable."""

    title = "Classes"


class TemplateError(SynthdivError):
    """A prompt template is malformed."""

    title = "Template"


class ModelError(SynthdivError):
    """A model cannot be found or loaded."""

    title = "Model"


class MissingExtra(SynthdivError):
    """A feature needs an optional extra that is not installed."""

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(f"{what} needs the optional extra {extra!r}, which is not installed",
                         f'pip install "synthdiv[{extra}]"')
