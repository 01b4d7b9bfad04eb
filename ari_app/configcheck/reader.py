"""Reading typed values off YAML nodes: anything wrong becomes a :class:`Problem` and the value None.

One pass over a file thus finds all its problems: a caller reads every field it needs, checks its
own rules on the values that did read, and raises :class:`ConfigError` when the reader holds any
problem. :class:`Keys` says which keys a mapping must and may have, :class:`Fields` reads one
mapping's values with their paths, :class:`Unique` reports values given twice.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from yaml.constructor import SafeConstructor

from ari_app.configcheck.problems import DOCUMENT, Problem, child_path
from ari_app.configcheck.yamlnodes import (
    BOOL,
    FLOAT,
    INT,
    STR,
    TIMESTAMP,
    InvalidYaml,
    compose,
    describe,
    line_of,
)

T = TypeVar("T")
E = TypeVar("E", bound=Enum)

DIGITS = re.compile(r"[0-9]+")
SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")  # ids: lowercase a-z, 0-9 and -, not starting with -
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

_constructor = SafeConstructor()
# What PyYAML's constructors raise on a value tagged int, bool or timestamp that they cannot read:
# "0b_", "!!int ''", "!!bool x", "!!timestamp x", an integer past int()'s 4300 digits, 2021-02-30.
_UNREADABLE = (ValueError, IndexError, KeyError, AttributeError)


@dataclass(frozen=True)
class Keys:
    """The keys a mapping must have and may have; any other key is a problem."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def allowed(self) -> tuple[str, ...]:
        return self.required + self.optional


class Reader:
    """Reads typed values off YAML nodes; anything wrong becomes a Problem and the value None."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def problem_at(self, line: int, path: str, message: str) -> None:
        self.problems.append(Problem(self.source, line, path or DOCUMENT, message))

    def problem(self, node: yaml.Node, path: str, message: str) -> None:
        self.problem_at(line_of(node), path, message)

    def document(self, text: str, expected: str) -> yaml.Node | None:
        """The root node of ``text``; invalid YAML, or no document at all, is a problem and None.

        ``expected`` says what the file should hold, for the empty file's message.
        """
        try:
            root = compose(text)
        except InvalidYaml as exc:
            self.problem_at(exc.line, DOCUMENT, exc.message)
            return None
        if root is None:
            self.problem_at(1, DOCUMENT, f"the file is empty: expected {expected}")
        return root

    # collections

    def entries(self, node: yaml.Node, path: str) -> list[tuple[str, yaml.Node, yaml.Node]] | None:
        """A mapping's (key, key node, value node), string keys only, each key once."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, path, f"expected a mapping, got {describe(node)}")
            return None
        seen: dict[str, yaml.Node] = {}
        out: list[tuple[str, yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == STR):
                self.problem(key_node, path, f"keys must be plain names, got {describe(key_node)}")
                continue
            key = str(key_node.value)
            if key in seen:
                self.problem(key_node, child_path(path, key), f"duplicate key (first at line {line_of(seen[key])})")
                continue
            seen[key] = key_node
            out.append((key, key_node, value_node))
        return out

    def mapping(self, node: yaml.Node, path: str, keys: Keys) -> Fields | None:
        entries = self.entries(node, path)
        if entries is None:
            return None
        values: dict[str, yaml.Node] = {}
        for key, key_node, value_node in entries:
            if key in keys.allowed:
                values[key] = value_node
            else:
                self.problem(key_node, child_path(path, key), _unknown_key_message(key, keys.allowed))
        for key in keys.required:
            if key not in values:
                self.problem(node, child_path(path, key), "missing required key")
        return Fields(self, path, node, values)

    def sequence(self, node: yaml.Node, path: str) -> list[yaml.Node] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, path, f"expected a list, got {describe(node)}")
            return None
        return list(node.value)

    # scalars

    def text(self, node: yaml.Node, path: str) -> str | None:
        if not (isinstance(node, yaml.ScalarNode) and node.tag == STR):
            self.problem(node, path, f"expected a string, got {describe(node)}{_quote_hint(node)}")
            return None
        value = str(node.value)
        if not value.strip():
            self.problem(node, path, "must not be empty")
            return None
        return value

    def matching(self, node: yaml.Node, path: str, pattern: re.Pattern[str], what: str) -> str | None:
        value = self.text(node, path)
        if value is not None and not pattern.fullmatch(value):
            self.problem(node, path, f"must be {what}, got {value!r}")
            return None
        return value

    def digits(self, node: yaml.Node, path: str) -> str | None:
        return self.matching(node, path, DIGITS, "digits only")

    def choice(self, node: yaml.Node, path: str, enum: type[E], what: str) -> E | None:
        value = self.text(node, path)
        if value is None:
            return None
        for member in enum:
            if member.value == value:
                return member
        expected = ", ".join(str(member.value) for member in enum)
        self.problem(node, path, f"unknown {what} {value!r}; expected one of {expected}")
        return None

    def integer(self, node: yaml.Node, path: str, low: int | None = None, high: int | None = None) -> int | None:
        if not (isinstance(node, yaml.ScalarNode) and node.tag == INT):
            self.problem(node, path, f"expected an integer, got {describe(node)}")
            return None
        try:
            value = _constructor.construct_yaml_int(node)
        except _UNREADABLE:
            self.problem(node, path, f"expected an integer, got {_shown(node)}, which is not a number that can be read")
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"at least {low}" if high is None else f"between {low} and {high}"
            self.problem(node, path, f"must be {bounds}, got {value}")
            return None
        return value

    def boolean(self, node: yaml.Node, path: str) -> bool | None:
        if not (isinstance(node, yaml.ScalarNode) and node.tag == BOOL):
            self.problem(node, path, f"expected true or false, got {describe(node)}")
            return None
        try:
            return _constructor.construct_yaml_bool(node)
        except _UNREADABLE:  # "!!bool x"
            self.problem(node, path, f"expected true or false, got {_shown(node)}")
            return None

    def date(self, node: yaml.Node, path: str) -> date | None:
        """A date: unquoted (YAML timestamp) or a quoted YYYY-MM-DD string."""
        if isinstance(node, yaml.ScalarNode) and node.tag in (TIMESTAMP, STR):
            raw = str(node.value)
            try:
                if node.tag == STR:
                    if not _ISO_DATE.fullmatch(raw):
                        raise ValueError(raw)
                    return date.fromisoformat(raw)
                value = _constructor.construct_yaml_timestamp(node)
            except _UNREADABLE:
                self.problem(node, path, f"not a valid date (YYYY-MM-DD): {raw!r}")
                return None
            if isinstance(value, datetime):
                self.problem(node, path, f"expected a date without a time, got {raw!r}")
                return None
            return value
        self.problem(node, path, f"expected a date (YYYY-MM-DD), got {describe(node)}")
        return None

    def timezone(self, node: yaml.Node, path: str) -> str | None:
        value = self.text(node, path)
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            self.problem(node, path, f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)")
            return None
        return value


class Fields:
    """One mapping's value nodes by key, read through a :class:`Reader` with each key's path."""

    def __init__(self, reader: Reader, path: str, node: yaml.Node, values: dict[str, yaml.Node]) -> None:
        self.reader = reader
        self.path = path
        self.node = node
        self.values = values

    def has(self, key: str) -> bool:
        return key in self.values

    def at(self, key: str) -> str:
        return child_path(self.path, key)

    def problem(self, key: str, message: str) -> None:
        """A problem with a key's value, or with the mapping when the key is absent."""
        self.reader.problem(self.values.get(key, self.node), self.at(key), message)

    def get(self, key: str, read: Callable[[yaml.Node, str], T | None]) -> T | None:
        node = self.values.get(key)
        return None if node is None else read(node, self.at(key))

    def text(self, key: str) -> str | None:
        return self.get(key, self.reader.text)

    def digits(self, key: str) -> str | None:
        return self.get(key, self.reader.digits)

    def matching(self, key: str, pattern: re.Pattern[str], what: str) -> str | None:
        return self.get(key, lambda node, path: self.reader.matching(node, path, pattern, what))

    def choice(self, key: str, enum: type[E]) -> E | None:
        return self.get(key, lambda node, path: self.reader.choice(node, path, enum, key))

    def integer(self, key: str, low: int | None = None, high: int | None = None) -> int | None:
        return self.get(key, lambda node, path: self.reader.integer(node, path, low, high))

    def boolean(self, key: str) -> bool | None:
        return self.get(key, self.reader.boolean)

    def date(self, key: str) -> date | None:
        return self.get(key, self.reader.date)

    def timezone(self, key: str) -> str | None:
        return self.get(key, self.reader.timezone)

    def mapping(self, key: str, keys: Keys) -> Fields | None:
        return self.get(key, lambda node, path: self.reader.mapping(node, path, keys))

    def sequence(self, key: str) -> list[tuple[yaml.Node, str]]:
        """The items of a list with their paths; empty when absent or not a list."""
        items = self.get(key, self.reader.sequence) or []
        return [(item, child_path(self.at(key), index)) for index, item in enumerate(items)]

    def sub(self, key: str, keys: Keys, build: Callable[[Fields], T | None]) -> T | None:
        """The value built from a nested mapping, or None when it is absent or has problems."""
        sub = self.mapping(key, keys)
        return None if sub is None else build(sub)


class Unique:
    """Reports the second and later occurrences of a value that must be unique."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.first: dict[str, int] = {}

    def check(self, fields: Fields, key: str, value: str | None) -> None:
        if value is None:
            return
        if value in self.first:
            fields.problem(key, f"duplicate {self.what} {value!r} (first at line {self.first[value]})")
        else:
            self.first[value] = line_of(fields.values[key])


def _unknown_key_message(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key{hint}; expected one of {', '.join(allowed)}"


def _shown(node: yaml.Node) -> str:
    """A scalar's text for a message, cut short when long."""
    text = str(node.value)
    return repr(text) if len(text) <= 40 else f"{text[:20]!r}... ({len(text)} characters)"


def _quote_hint(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode) and node.tag == INT:
        return f'; quote it ("{node.value}"): unquoted, YAML reads digits as a number and drops leading zeros'
    if isinstance(node, yaml.ScalarNode) and node.tag in (FLOAT, BOOL, TIMESTAMP):
        return f'; quote it ("{node.value}") if it is text'
    return ""
