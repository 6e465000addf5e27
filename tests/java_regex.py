"""AWS's ``pattern`` constraints, read by the ``regex`` module as Java reads them.

The service models' patterns are written for java.util.regex
(https://docs.oracle.com/javase/8/docs/api/java/util/regex/Pattern.html): ``\\p{Alnum}``
(which ECMA-262 lacks), UTF-16 surrogate pairs such as ``\\uD800\\uDC00``, ``\\z``. Python's
``re`` has no Unicode categories (``\\p{L}``), so the ``regex`` module reads them, after
``java_regex`` translates what the two read differently; anything else Java-only is refused
(ValueError) rather than guessed.
"""

from __future__ import annotations

import functools

import regex


# Java's POSIX classes and \\d \\s \\w are US-ASCII only (java.util.regex.Pattern, without
# UNICODE_CHARACTER_CLASS, which AWS's patterns do not set); the regex module's are Unicode-wide.
# Each is written out as code point ranges, so a negation can sit inside [...] too.
def _chars(spec: str) -> frozenset[int]:
    """'a-z_' -> the code points of a-z and _ (a '-' between two characters is a range)."""
    points: set[int] = set()
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            points.update(range(ord(spec[i]), ord(spec[i + 2]) + 1))
            i += 3
        else:
            points.add(ord(spec[i]))
            i += 1
    return frozenset(points)


_ASCII_CLASSES = {
    name: _chars(spec)
    for name, spec in {
        "Lower": "a-z",
        "Upper": "A-Z",
        "ASCII": "\x00-\x7f",
        "Alpha": "a-zA-Z",
        "Digit": "0-9",
        "Alnum": "a-zA-Z0-9",
        "Punct": "!-/:-@[-`{-~",
        "Graph": "!-~",
        "Print": " -~",
        "Blank": " \t",
        "Cntrl": "\x00-\x1f\x7f",
        "XDigit": "0-9a-fA-F",
        "Space": " \t\n\x0b\f\r",
        "d": "0-9",
        "s": " \t\n\x0b\f\r",
        "w": "a-zA-Z_0-9",
    }.items()
}
# Java's '.' stops at every line terminator, not only at \n.
_DOT = "[^\\n\\r\\x85\\u2028\\u2029]"
# Java syntax that means something else (or nothing) to the regex module.
_REFUSED = {"Q": "\\Q...\\E quoting", "E": "\\Q...\\E quoting", "Z": "\\Z", "h": "\\h", "R": "\\R"}


@functools.cache
def _ascii_set(name: str, negated: bool, in_class: bool) -> str:
    spans: list[tuple[int, int]] = []  # (first, last) code points of the class, in order
    for point in sorted(_ASCII_CLASSES[name]):
        if spans and point == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], point)
        else:
            spans.append((point, point))
    if negated:
        edges = [-1] + [p for span in spans for p in span] + [0x110000]
        spans = [(edges[k] + 1, edges[k + 1] - 1) for k in range(0, len(edges), 2) if edges[k] + 1 < edges[k + 1]]
    body = "".join(_point(first) + (f"-{_point(last)}" if last > first else "") for first, last in spans)
    return body if in_class else f"[{body}]"


def _point(code: int) -> str:
    char = chr(code)
    return char if char.isascii() and char.isalnum() else f"\\U{code:08X}"


def java_regex(pattern: str) -> str:
    """A Java regular expression as the ``regex`` module reads it (Unicode categories like \\p{L} pass as they are).

    Translated: the ASCII-only classes (\\p{Alnum}, \\d, \\s, \\w and their negations), '.'
    (no line terminator), UTF-16 surrogate pairs (\\uD800\\uDC00 -> \\U00010000) and the end of
    input \\z (-> \\Z). Raises ValueError on Java syntax it does not translate.
    """
    out: list[str] = []
    in_class, i = False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            kind = pattern[i + 1]
            if kind in "pP" and pattern.startswith("{", i + 2):
                name = pattern[i + 3 : pattern.index("}", i)]
                if name in _ASCII_CLASSES:
                    out.append(_ascii_set(name, kind == "P", in_class))
                else:
                    out.append(pattern[i : i + 4 + len(name)])
                i += 4 + len(name)
                continue
            if kind in "dDsSwW":
                out.append(_ascii_set(kind.lower(), kind.isupper(), in_class))
                i += 2
                continue
            if kind == "u" and _is_surrogate(pattern, i, 0xD800) and _is_surrogate(pattern, i + 6, 0xDC00):
                high, low = int(pattern[i + 2 : i + 6], 16), int(pattern[i + 8 : i + 12], 16)
                out.append(f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}")
                i += 12
                continue
            if kind == "z":  # Java's end of input is Python's \Z
                out.append("\\Z")
                i += 2
                continue
            if kind in _REFUSED:
                raise ValueError(f"{pattern!r}: Java {_REFUSED[kind]} not translated")
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class and pattern.startswith("&&", i):
            raise ValueError(f"{pattern!r}: Java class intersection && not translated")
        if char == "[" and in_class:
            raise ValueError(f"{pattern!r}: Java nested class [...[...]] not translated")
        if char == "[":
            in_class = True
            out.append(char)
            if pattern.startswith("^", i + 1):
                out.append("^")
                i += 1
            if pattern.startswith("]", i + 1):
                raise ValueError(
                    f"{pattern!r}: a ']' first in a class (Java and regex read it differently) not translated"
                )
        elif char == "]" and in_class:
            in_class = False
            out.append(char)
        elif char == "." and not in_class:
            out.append(_DOT)
        else:
            out.append(char)
        i += 1
    return "".join(out)


def _is_surrogate(pattern: str, at: int, base: int) -> bool:
    digits = pattern[at + 2 : at + 6]
    return (
        pattern.startswith("\\u", at)
        and len(digits) == 4
        and all(c in "0123456789abcdefABCDEF" for c in digits)
        and base <= int(digits, 16) < base + 0x400
    )


@functools.cache
def compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(java_regex(pattern))
