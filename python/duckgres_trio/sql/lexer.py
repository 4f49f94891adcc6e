"""A lexer for PostgreSQL's SQL: enough to split statements and read their shape.

It knows every way PostgreSQL lets text hide a semicolon or a keyword (single quotes,
E'' strings with backslash escapes, dollar quotes, quoted identifiers, nested block
comments, line comments), so splitting and classification never look inside them.
It does not build a syntax tree: the engine's parser does that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    WORD = "word"  # keyword or bare identifier, value upper-cased
    QUOTED_IDENT = "quoted_ident"
    STRING = "string"
    NUMBER = "number"
    PARAM = "param"  # $1
    PUNCT = "punct"  # ( ) , ; . [ ] and operators
    SEMICOLON = "semicolon"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    value: str
    start: int
    end: int


class LexError(ValueError):
    """Unterminated quote, identifier or comment."""


_WORD = re.compile(r"[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*")
_NUMBER = re.compile(r"(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?")
_PARAM = re.compile(r"\$\d+")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")
_SPACE = re.compile(r"\s+")
_OPERATOR = re.compile(r"[+\-*/<>=~!@#%^&|`?:]+")


def tokenize(sql: str) -> list[Token]:
    """All tokens of ``sql``, comments and whitespace dropped."""
    tokens: list[Token] = []
    pos = 0
    n = len(sql)
    while pos < n:
        ch = sql[pos]
        if ch.isspace():
            pos = _SPACE.match(sql, pos).end()
            continue
        if sql.startswith("--", pos):
            end = sql.find("\n", pos)
            pos = n if end < 0 else end + 1
            continue
        if sql.startswith("/*", pos):
            pos = _skip_block_comment(sql, pos)
            continue
        if ch == "'":
            end = _skip_quoted(sql, pos, "'", backslash=False)
            tokens.append(Token(Kind.STRING, sql[pos:end], pos, end))
            pos = end
            continue
        if ch in "eE" and sql.startswith("'", pos + 1):
            end = _skip_quoted(sql, pos + 1, "'", backslash=True)
            tokens.append(Token(Kind.STRING, sql[pos:end], pos, end))
            pos = end
            continue
        if ch in "bBxXnN" and sql.startswith("'", pos + 1):
            end = _skip_quoted(sql, pos + 1, "'", backslash=False)
            tokens.append(Token(Kind.STRING, sql[pos:end], pos, end))
            pos = end
            continue
        if ch == '"':
            end = _skip_quoted(sql, pos, '"', backslash=False)
            tokens.append(Token(Kind.QUOTED_IDENT, sql[pos + 1 : end - 1].replace('""', '"'), pos, end))
            pos = end
            continue
        if ch == "$":
            m = _PARAM.match(sql, pos)
            if m:
                tokens.append(Token(Kind.PARAM, m.group(), pos, m.end()))
                pos = m.end()
                continue
            m = _DOLLAR_TAG.match(sql, pos)
            if m:
                close = sql.find(m.group(), m.end())
                if close < 0:
                    raise LexError("unterminated dollar-quoted string")
                end = close + len(m.group())
                tokens.append(Token(Kind.STRING, sql[pos:end], pos, end))
                pos = end
                continue
        m = _WORD.match(sql, pos)
        if m:
            tokens.append(Token(Kind.WORD, m.group().upper(), pos, m.end()))
            pos = m.end()
            continue
        m = _NUMBER.match(sql, pos)
        if m:
            tokens.append(Token(Kind.NUMBER, m.group(), pos, m.end()))
            pos = m.end()
            continue
        if ch == ";":
            tokens.append(Token(Kind.SEMICOLON, ";", pos, pos + 1))
            pos += 1
            continue
        end = _operator_end(sql, pos)
        tokens.append(Token(Kind.PUNCT, sql[pos:end], pos, end))
        pos = end
    return tokens


#: An operator holding one of these may end in + or - (PostgreSQL's scan.l).
_SIGNED_OPERATOR_CHARS = frozenset("~!@#^&|`?%")


def _operator_end(sql: str, pos: int) -> int:
    """Where the operator (or other punctuation) at ``pos`` ends, as PostgreSQL's lexer
    cuts it: a comment start inside ends it (``a=--x`` is ``=`` and a comment), and a
    multi-character operator without one of ``~!@#^&|`?%`` does not end in ``+`` or
    ``-``, so ``a=-5`` is ``=`` then ``-5`` and ``a<>-5`` is ``<>`` then ``-5``."""
    m = _OPERATOR.match(sql, pos)
    if not m:
        return pos + 1
    text = m.group()
    cuts = [at for at in (text.find("/*"), text.find("--")) if at > 0]
    if cuts:
        text = text[:min(cuts)]
    if len(text) > 1 and text[-1] in "+-" and not _SIGNED_OPERATOR_CHARS.intersection(text):
        text = text.rstrip("+-") or text[0]
    return pos + len(text)


def _skip_quoted(sql: str, pos: int, quote: str, *, backslash: bool) -> int:
    """Index just past the closing quote of the literal opening at ``pos``."""
    i = pos + 1
    n = len(sql)
    while i < n:
        ch = sql[i]
        if backslash and ch == "\\":
            i += 2
            continue
        if ch == quote:
            if i + 1 < n and sql[i + 1] == quote:  # doubled quote is an escaped quote
                i += 2
                continue
            return i + 1
        i += 1
    raise LexError("unterminated quoted string" if quote == "'" else "unterminated quoted identifier")


def _skip_block_comment(sql: str, pos: int) -> int:
    """PostgreSQL block comments nest."""
    depth = 0
    i = pos
    n = len(sql)
    while i < n:
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise LexError("unterminated /* comment")


_E_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_E_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|u([0-9A-Fa-f]{4})|"
                       r"U([0-9A-Fa-f]{8})|(.))", re.DOTALL)


def string_value(token: Token) -> str:
    """The value of a string literal token: 'it''s', E'tab\\t', $$dollar$$."""
    text = token.value
    if text.startswith("$"):
        tag_end = text.index("$", 1) + 1
        return text[tag_end:-tag_end]
    if text[:1] in "eE":
        body = text[2:-1].replace("''", "'")

        def unescape(m: re.Match) -> str:
            octal, hex2, u4, u8, other = m.groups()
            if octal or hex2:
                return chr(int(octal, 8) if octal else int(hex2, 16))
            if u4 or u8:
                return chr(int(u4 or u8, 16))
            return _E_ESCAPES.get(other, other)

        return _E_ESCAPE.sub(unescape, body)
    return text[1:-1].replace("''", "'")
