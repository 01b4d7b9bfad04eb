"""Hypothesis strategies that mutate a shipped YAML file the way a hurried editor (or a bad disk) would:
lines deleted, duplicated, swapped or re-indented, values replaced by the wrong type, junk characters,
the file cut short, and whole-file re-encodings (GBK, a BOM, NUL bytes, invalid UTF-8)."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st

# Values a field may wrongly hold: other types, YAML's odd spellings, sizes, tags, aliases, Unicode.
WRONG_VALUES = (
    "", "~", "null", "true", "no", "yes", "on", "0", "-1", "007", "1e309", ".nan", "-.inf", "3.14",
    "0b_", "0x_", "-0b_", "0o17", "1:30", "190:20:30", "9" * 5000, "-" + "9" * 400, str(2**70),
    "2021-02-30", "2021-13-01", "0000-01-01", "9999-12-31", "2021-12-01 25:61:00", "2021-12-01T10:00:00+99:00",
    "[]", "{}", "[1, [2, [3]]]", "{a: {b: c}}", "\"\"", "''", "'unterminated", "\"bad \\x escape\"",
    "&a x", "*a", "*nowhere", "<<: *a", "!!binary aGk=", "!!python/object:os.system", "!!int x", "!!float x",
    "!!timestamp x", "!!timestamp 2021-02-30", "!!bool x", "!!int ''", "!!null x",
    "!!str", "!custom 1", "? complex", "- item", "|", ">-", "%YAML 1.1", "---", "...",
    "Asia/Nowhere", "Asia", "../../etc/passwd", "UTC", "Etc/GMT+14", "\x00", "\x7f", "\t", "\u2028",
    "\ufeff", "\U0001f4de", "幺二三四五", "\u200b", "a" * 3000, "{name:d}", "{digits!z}", "{", "}", "{0}",
)
JUNK = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(":-?[]{},#&*!|>'\"%@`\t \n\r\\\x00\x01\x1b\x85\u2028\ufeff")),
        st.characters(codec="utf-8"),
    ),
    min_size=1,
    max_size=12,
)

Lines = list[str]
Op = Callable[[st.DrawFn, Lines], Lines]


def _index(draw: st.DrawFn, lines: Lines) -> int:
    return draw(st.integers(0, max(len(lines) - 1, 0)))


def delete_line(draw: st.DrawFn, lines: Lines) -> Lines:
    if not lines:
        return lines
    i = _index(draw, lines)
    return lines[:i] + lines[i + 1:]


def duplicate_line(draw: st.DrawFn, lines: Lines) -> Lines:
    if not lines:
        return lines
    i = _index(draw, lines)
    return lines[: i + 1] + lines[i:]


def swap_lines(draw: st.DrawFn, lines: Lines) -> Lines:
    if len(lines) < 2:
        return lines
    i, j = _index(draw, lines), _index(draw, lines)
    out = list(lines)
    out[i], out[j] = out[j], out[i]
    return out


def reindent(draw: st.DrawFn, lines: Lines) -> Lines:
    if not lines:
        return lines
    i = _index(draw, lines)
    body = lines[i].lstrip(" ")
    indent = draw(st.sampled_from(["", " ", "  ", "   ", "    ", "\t", "          "]))
    return [*lines[:i], indent + body, *lines[i + 1:]]


def insert_junk(draw: st.DrawFn, lines: Lines) -> Lines:
    if not lines:
        return [draw(JUNK)]
    i = _index(draw, lines)
    at = draw(st.integers(0, len(lines[i])))
    return [*lines[:i], lines[i][:at] + draw(JUNK) + lines[i][at:], *lines[i + 1:]]


def replace_value(draw: st.DrawFn, lines: Lines) -> Lines:
    """The value after ``key:`` (or after a list's ``- ``) becomes a wrong one."""
    candidates = [i for i, line in enumerate(lines) if ": " in line or line.lstrip().startswith("- ")]
    if not candidates:
        return lines
    i = draw(st.sampled_from(candidates))
    line = lines[i]
    cut = line.index(": ") + 2 if ": " in line else line.index("- ") + 2
    value = draw(st.sampled_from(WRONG_VALUES)) if draw(st.booleans()) else draw(
        st.one_of(st.integers().map(str), st.text(max_size=20), st.sampled_from(WRONG_VALUES)))
    end = "\n" if line.endswith("\n") else ""
    return [*lines[:i], line[:cut] + value + end, *lines[i + 1:]]


def flip_quotes(draw: st.DrawFn, lines: Lines) -> Lines:
    """A quoted value loses its quotes (``"01"`` becomes the integer 1) or a plain one gains them."""
    candidates = [i for i, line in enumerate(lines) if ": " in line]
    if not candidates:
        return lines
    i = draw(st.sampled_from(candidates))
    key, _, value = lines[i].rstrip("\n").partition(": ")
    stripped = value.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
        value = stripped[1:-1]
    else:
        value = f'"{stripped}"'
    return [*lines[:i], f"{key}: {value}\n", *lines[i + 1:]]


def truncate(draw: st.DrawFn, lines: Lines) -> Lines:
    text = "".join(lines)
    return [text[: draw(st.integers(0, len(text)))]]


# replace_value twice: a wrong value in a right place is the likeliest mistake to slip past a loader
OPS: tuple[Op, ...] = (delete_line, duplicate_line, swap_lines, reindent, insert_junk, replace_value, replace_value,
                       flip_quotes, truncate)


@st.composite
def mutated_text(draw: st.DrawFn, original: str) -> str:
    """``original`` after one to five line-level mutations."""
    lines = original.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(OPS))
        lines = op(draw, lines)
    return "".join(lines)


def _encode(draw: st.DrawFn, text: str) -> bytes:
    how = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "gbk", "bom", "nul", "bad-byte", "utf-16"]))
    if how == "gbk":
        return text.encode("gbk", errors="replace")
    if how == "utf-16":
        return text.encode("utf-16")
    data = text.encode("utf-8", errors="surrogatepass")
    at = draw(st.integers(0, len(data)))
    if how == "bom":
        return b"\xef\xbb\xbf" + data
    if how == "nul":
        return data[:at] + b"\x00" + data[at:]
    if how == "bad-byte":
        return data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xe4\xb8", b"\x80", b"\xed\xa0\x80"])) + data[at:]
    return data


@st.composite
def mutated_bytes(draw: st.DrawFn, original: str) -> bytes:
    """A mutated file's bytes: usually UTF-8, sometimes GBK, UTF-16, a BOM, a NUL or a byte that is not UTF-8."""
    return _encode(draw, draw(mutated_text(original)))
