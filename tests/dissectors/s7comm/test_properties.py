"""Hypothesis: random and cut PDUs never raise anywhere on the TPKT/COTP/S7 path."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from dissectors.s7comm import CotpAssembler, TpktFramer, parse_s7, parse_tpdu
from tests.dissectors.s7comm.helpers import dt
from tests.dissectors.s7comm.test_pdu import READ_REQ, READ_RSP

VALID = [READ_REQ, READ_RSP, bytes.fromhex("7201000a31000004ca000000010000")]


def _walk(data: bytes, hint: bool | None) -> None:
    rec = parse_s7(data, hint)
    json.dumps(rec.specific())
    assert rec.access and rec.target and rec.operation and rec.function_name


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([None, True, False]))
def test_parse_s7_random(data: bytes, hint: bool | None) -> None:
    _walk(data, hint)
    _walk(b"\x32" + data, hint)
    _walk(b"\x72" + data, hint)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(VALID), st.integers(0, 60), st.binary(max_size=40))
def test_parse_s7_cut_and_mutated(pdu: bytes, cut: int, tail: bytes) -> None:
    _walk(pdu[: len(pdu) - cut] + tail, None)
    if len(pdu) > cut:
        _walk(pdu[:cut] + tail + pdu[cut:], True)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=8), st.booleans())
def test_framer_tpdu_assembler(chunks: list[bytes], gap: bool) -> None:
    framer = TpktFramer()
    asm = CotpAssembler(max_pdu=200)
    stream = [dt(READ_REQ[:7], False) + chunks[0]] if chunks else []
    for i, chunk in enumerate(stream + chunks + [dt(READ_REQ)]):
        if gap and i == 2:
            framer.gap()
            asm.gap()
        for tpkt in framer.feed(chunk):
            cotp = parse_tpdu(tpkt)
            json.dumps(cotp.specific())
            pdu = asm.add(cotp)
            if pdu is not None:
                _walk(pdu, None)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_parse_tpdu_random(data: bytes) -> None:
    json.dumps(parse_tpdu(b"\x03\x00" + data).specific())
    json.dumps(parse_tpdu(data).specific())
