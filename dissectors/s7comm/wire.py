"""Shared helpers of the S7 function decoders: the decoded header and the raw record."""

from __future__ import annotations

from typing import Final

from dissectors.s7comm import consts
from dissectors.s7comm.anomalies import MALFORMED_PDU
from dissectors.s7comm.records import Anomalies, RawS7

NONE: Final[Anomalies] = ()
_NONE = NONE


class Head:
    """The decoded S7 header and the bounds of its parameter and data parts."""

    __slots__ = ("data", "data_end", "error_class", "error_code", "param", "pdu_ref", "rosctr")

    def __init__(
        self,
        rosctr: int,
        pdu_ref: int,
        error_class: int | None,
        error_code: int | None,
        param: int,
        data: int,
        data_end: int,
    ) -> None:
        self.rosctr = rosctr
        self.pdu_ref = pdu_ref
        self.error_class = error_class
        self.error_code = error_code
        self.param = param  # offset of the parameter part
        self.data = data  # offset of the data part (= end of the parameter part)
        self.data_end = data_end


def raw(pdu: bytes, head: Head, request: bool, problem: str | None) -> RawS7:
    """A record keeping the parameter and data parts as they are."""
    fc = pdu[head.param] if head.data > head.param else consts.NO_FUNCTION
    anomalies: Anomalies = _NONE if problem is None else ((MALFORMED_PDU, problem),)
    return RawS7(
        head.rosctr, head.pdu_ref, fc, request, head.error_class, head.error_code,
        None, None, None, anomalies, pdu[head.param + 1 : head.data],
        pdu[head.data : head.data_end],
    )  # fmt: skip
