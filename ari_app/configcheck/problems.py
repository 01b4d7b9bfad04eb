"""What is wrong with a configuration file, and how it is said: file, 1-based line, field path, message."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

DOCUMENT = "<document>"  # the path of problems that concern the whole file


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: where (1-based line, field path) and what."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


class ConfigError(RuntimeError):
    """A configuration file has problems; ``problems`` holds all of them, in line order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


def child_path(path: str, key: str | int) -> str:
    """The field path of a mapping's key (``a.b``) or a list's item (``a[0]``); ``""`` is the top."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def did_you_mean(value: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known``, or nothing when none is close."""
    close = difflib.get_close_matches(value, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
