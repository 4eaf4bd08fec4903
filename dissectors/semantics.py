"""The protocol-neutral fields every dissector's records carry (DESIGN principle 7).

A record says what it does as ``(access, target, operation)`` from its ``semantics()``
(looked up in its protocol's consts tables); :class:`NeutralFields` turns that into the
``access``, ``target`` and ``operation`` properties rules and the baseline read.
"""

from __future__ import annotations

#: (access, target, operation)
Semantics = tuple[str, str, str]


class NeutralFields:
    """``access``, ``target`` and ``operation`` from a record's ``semantics()``."""

    __slots__ = ()

    def semantics(self) -> Semantics:
        raise NotImplementedError

    @property
    def access(self) -> str:
        return self.semantics()[0]

    @property
    def target(self) -> str:
        return self.semantics()[1]

    @property
    def operation(self) -> str:
        return self.semantics()[2]
