"""Config errors that name the file, line, key path and offending value."""

from __future__ import annotations

from dataclasses import dataclass

MAX_VALUE_REPR = 60


def format_path(path: tuple[str | int, ...]) -> str:
    """Render a key path like ``gondolas[0].shelves[2].plates[11].id``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "<top level>"


def short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= MAX_VALUE_REPR else text[: MAX_VALUE_REPR - 3] + "..."


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file."""

    file: str
    line: int | None
    column: int | None
    path: tuple[str | int, ...]
    message: str
    value: object = None
    has_value: bool = False

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {format_path(self.path)}: " if self.path else f"{where}: "
        text += self.message
        if self.has_value:
            text += f" (value: {short_repr(self.value)})"
        return text


class ConfigError(Exception):
    """A config file that cannot be used; carries every issue found, not only the first."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = issues
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.issues)
        head = f"{count} problem{'s' if count != 1 else ''} in store config"
        return head + ":\n" + "\n".join(f"  {issue}" for issue in self.issues)
