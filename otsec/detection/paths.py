"""Dotted paths into nested documents (``ics.function.code``), as Sigma rules and the
SIEM name fields. No third-party imports: the monitor reads documents with it whether or
not a rule pack (and pySigma) is loaded."""

from __future__ import annotations

from typing import Any


def walk(doc: Any, path: str) -> list[Any] | None:
    """The values at a dotted path of nested dicts, lists at any step walked into; None
    when absent."""
    current: list[Any] = [doc]
    for part in path.split("."):
        nxt: list[Any] = []
        for item in current:
            if isinstance(item, dict) and part in item:
                v = item[part]
                if isinstance(v, list):
                    nxt.extend(v)
                else:
                    nxt.append(v)
        if not nxt:
            return None
        current = nxt
    return current
