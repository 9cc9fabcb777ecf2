"""A small parser for the HCL subset docker-bake.hcl uses: blocks, attributes, strings, lists, maps.

Expressions beyond literals are kept as references: `UID = PUID` parses to ``Ref("PUID")``;
`"${IMAGE}:${TAG}"` stays a string (its interpolations are checked by the caller).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""
    (?P<skip>\s+|//[^\n]*|\#[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
  | (?P<punct>[{}\[\]=,:])
    """,
    re.VERBOSE | re.DOTALL,
)


class HclError(ValueError):
    """The text is not in the HCL subset this parser reads."""


@dataclass(frozen=True)
class Ref:
    """A bare identifier used as a value (a variable reference)."""

    name: str


@dataclass
class Block:
    type: str
    labels: list[str]
    body: Body


@dataclass
class Body:
    attributes: dict[str, object] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def find(self, block_type: str) -> dict[str, Block]:
        """Blocks of one type by their first label."""
        return {b.labels[0]: b for b in self.blocks if b.type == block_type and b.labels}


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise HclError(f"unexpected character {text[position]!r} at offset {position}")
        position = match.end()
        kind = match.lastgroup or ""
        if kind != "skip":
            tokens.append((kind, match.group()))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.index] if self.index < len(self.tokens) else ("eof", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "eof" or (value is not None and token[1] != value):
            raise HclError(f"expected {value or 'a token'}, got {token[1] or 'end of file'!r}")
        self.index += 1
        return token

    def body(self, closing: str | None) -> Body:
        body = Body()
        while self.peek()[1] != closing and not (closing is None and self.peek()[0] == "eof"):
            kind, name = self.take()
            if kind != "ident":
                raise HclError(f"expected an attribute or block name, got {name!r}")
            if self.peek()[1] == "=":
                self.take("=")
                if name in body.attributes:
                    raise HclError(f"attribute {name} set twice")
                body.attributes[name] = self.value()
                continue
            labels = []
            while self.peek()[0] == "string":
                labels.append(json.loads(self.take()[1]))
            self.take("{")
            body.blocks.append(Block(name, labels, self.body("}")))
            self.take("}")
        return body

    def value(self) -> object:
        kind, text = self.take()
        if kind == "string":
            return json.loads(text)
        if kind == "number":
            return float(text)
        if kind == "ident":
            return {"true": True, "false": False, "null": None}.get(text, Ref(text))
        if text == "[":
            items = []
            while self.peek()[1] != "]":
                items.append(self.value())
                if self.peek()[1] == ",":
                    self.take(",")
            self.take("]")
            return items
        if text == "{":
            mapping: dict[str, object] = {}
            while self.peek()[1] != "}":
                key_kind, key = self.take()
                if key_kind not in ("ident", "string"):
                    raise HclError(f"bad map key {key!r}")
                if self.peek()[1] not in ("=", ":"):
                    raise HclError(f"expected = after map key {key!r}")
                self.take()
                mapping[json.loads(key) if key_kind == "string" else key] = self.value()
                if self.peek()[1] == ",":
                    self.take(",")
            self.take("}")
            return mapping
        raise HclError(f"unexpected {text!r} where a value belongs")


def parse(text: str) -> Body:
    """Parse HCL text into a Body; raises HclError outside the supported subset."""
    return _Parser(text).body(None)
