"""Errors raised while reading, writing or importing a recorded session.

Every error names the file it is about (and the line or byte offset where that helps), so a user
can go straight to the problem; `walkout` prints them as one clean "error: ..." line.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PlatesImportError", "SessionError"]


class SessionError(Exception):
    """A recorded session (or an input being imported into one) is missing, corrupt or invalid.

    ``path`` is the file or folder at fault, ``problem`` says what is wrong with it, and ``line``
    (1-based) is given for line-oriented files.
    """

    prefix = "session"

    def __init__(self, path: str | Path, problem: str, *, line: int | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}, line {self.line}"
        return f"{self.prefix} {where}: {self.problem}"

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the keyword-only line across pickling (multiprocessing hands errors back).
        return (_rebuild, (type(self), self.path, self.problem, self.line))


class PlatesImportError(SessionError, ValueError):
    """An input of `import_plates` (plate CSV files, planogram) is missing or malformed."""

    prefix = "import-plates"


def _rebuild(cls: type[SessionError], path: str, problem: str, line: int | None) -> SessionError:
    return cls(path, problem, line=line)
