"""A configuration file's text composed into YAML nodes, each with its line.

The file is composed, never ``safe_load``-ed, so every value keeps the line it was written on;
:mod:`ari_app.configcheck.reader` reads typed values off the nodes.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ari_app.configcheck.problems import DOCUMENT, ConfigError, Problem

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"
TIMESTAMP = "tag:yaml.org,2002:timestamp"


class InvalidYaml(Exception):
    """The text is not one YAML document: where (1-based line) and why."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")


def compose(text: str) -> yaml.Node | None:
    """The document's root node, or None when the text holds no document (empty, comments only).

    Raises :class:`InvalidYaml` with the line of the first syntax error.
    """
    try:
        root: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at column {mark.column + 1}" if mark else ""
        context = f" ({exc.context})" if exc.context else ""
        raise InvalidYaml(mark.line + 1 if mark else 1, f"invalid YAML{where}: {exc.problem}{context}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, int(exc.position)) + 1
        raise InvalidYaml(line, f"invalid YAML: {exc.reason} character {exc.character!r}") from None
    except yaml.YAMLError as exc:
        raise InvalidYaml(1, f"invalid YAML: {exc}") from None
    return root


def read_utf8(path: Path) -> str:
    """A file's text. Not UTF-8: :class:`ConfigError` at the line of the first bad byte.

    OSError (missing, unreadable) propagates unchanged.
    """
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError([Problem(str(path), line, DOCUMENT, f"not UTF-8 text: {exc.reason}")]) from None


def line_of(node: yaml.Node) -> int:
    """The 1-based line a node starts on."""
    return int(node.start_mark.line) + 1


def describe(node: yaml.Node) -> str:
    """What a node holds, for 'expected X, got Y' messages."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    kinds = {
        STR: "the string",
        INT: "the integer",
        FLOAT: "the number",
        BOOL: "the boolean",
        TIMESTAMP: "the date",
    }
    if node.tag == NULL:
        return "nothing (null)"
    kind = kinds.get(node.tag, f"a value tagged {node.tag}")
    return f"{kind} {node.value!r}" if node.tag == STR else f"{kind} {node.value}"
