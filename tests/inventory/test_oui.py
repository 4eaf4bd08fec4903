"""Offline MAC vendor lookup: netaddr first, Wireshark's manuf as fallback, never raising."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

from otsec.inventory import oui
from otsec.inventory.oui import LOCALLY_ADMINISTERED, OuiDatabase, clean_org, parse_mac

HAVE_NETADDR = importlib.util.find_spec("netaddr") is not None

needs_netaddr = pytest.mark.skipif(not HAVE_NETADDR, reason="netaddr not installed")

MANUF = """\
# a small manuf file in Wireshark's format
00:1B:1B\tSiemens\tSiemens AG,
00:80:F4\tTelemech\tTelemechanique Electrique
00:50:56\tVMware\tVMware, Inc.
D8:3A:DD\tRaspberr\tRaspberry Pi Trading Ltd
00:00:6C\tPrivate
00:55:DA\tIEEERegi\tIEEE Registration Authority
00:55:DA:00:00:00/28\tShinkoTe\tShinko Technos co.,ltd.
00:55:DA:10:00:00/28\tKoolPOS\tKoolPOS Inc.\t# a comment
00:1B:C5\tIEEERegi\tIEEE Registration Authority
00:1B:C5:00:10:00/36\tOpenRBco\tOpenRB.com, Direct SIA
00:1B:C5:0A:30/36\tShort\tFive Octet Prefix Ltd
this line is garbage
00:1B:C5:00:20:00/99\tBadMask\tBad Mask Inc.
"""


@pytest.fixture
def manuf(tmp_path: Path) -> Path:
    path = tmp_path / "manuf"
    path.write_text(MANUF)
    return path


@pytest.fixture
def no_netaddr(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import netaddr`` fail, as on a sensor without the package."""
    monkeypatch.setitem(sys.modules, "netaddr", None)


# --- the plant's MACs through netaddr ----------------------------------------------------


@needs_netaddr
@pytest.mark.parametrize(
    ("mac", "vendor"),
    [
        ("00:80:f4:12:01:01", "TELEMECANIQUE ELECTRIQUE"),
        ("00:1b:1b:4c:00:01", "Siemens AG"),
        ("d8:3a:dd:01:02:03", "Raspberry Pi Trading Ltd"),
        ("00:50:56:aa:bb:cc", "VMware, Inc."),
    ],
)
def test_plant_macs(mac: str, vendor: str) -> None:
    db = OuiDatabase(manuf_path="/nonexistent/manuf")
    assert db.lookup(mac) == vendor
    assert oui.vendor(mac) == vendor


@needs_netaddr
def test_source_names_netaddr() -> None:
    version = importlib.import_module("netaddr").__version__
    assert OuiDatabase().source == f"netaddr {version}"


@needs_netaddr
@pytest.mark.parametrize(
    "mac",
    [
        "00:80:F4:12:01:01",
        "00-80-f4-12-01-01",
        "00-80-F4-12-01-01",
        "0080.f412.0101",
        "0080.F412.0101",
        "0080f4120101",
        "  00:80:f4:12:01:01\n",
        "0:80:f4:12:1:1",
        b"\x00\x80\xf4\x12\x01\x01",
        bytearray(b"\x00\x80\xf4\x12\x01\x01"),
    ],
)
def test_input_formats(mac: str | bytes) -> None:
    assert OuiDatabase().lookup(mac) == "TELEMECANIQUE ELECTRIQUE"


def test_parse_mac() -> None:
    assert parse_mac("00:80:f4:12:01:01") == 0x0080F4120101
    assert parse_mac(b"\xff" * 6) == 0xFFFFFFFFFFFF
    for bad in (
        "",
        "00:80:f4",
        "00:80:f4:12:01:01:02",
        "00:80:f4:12:01:0g",
        "0080.f412",
        "00:80-f4:12:01:01",
        "000:80:f4:12:01:01",
        b"\x00" * 5,
        b"\x00" * 7,
        None,
        0x0080F4120101,
        1.5,
        ["00"],
        object(),
    ):
        assert parse_mac(bad) is None, bad


def test_locally_administered() -> None:
    db = OuiDatabase()
    assert db.lookup("02:00:00:00:00:01") == LOCALLY_ADMINISTERED
    assert db.lookup("02:42:ac:11:00:02") == LOCALLY_ADMINISTERED  # docker
    assert db.lookup(b"\x0a\x00\x27\x00\x00\x00") == LOCALLY_ADMINISTERED


def test_multicast_and_broadcast() -> None:
    db = OuiDatabase()
    for mac in (
        "01:00:5e:00:00:01",
        "ff:ff:ff:ff:ff:ff",
        "01:80:c2:00:00:00",
        "33:33:00:00:00:01",
        "03:00:00:00:00:01",
    ):
        assert db.lookup(mac) is None, mac


@pytest.mark.parametrize(
    "mac",
    ["", "garbage", "zz:zz:zz:zz:zz:zz", "00:80:f4", "10.20.1.101", "::1", "0" * 100, None, 42],
)
def test_garbage_never_raises(mac: object) -> None:
    assert OuiDatabase().lookup(mac) is None  # type: ignore[arg-type]
    assert oui.vendor(mac) is None  # type: ignore[arg-type]


@needs_netaddr
def test_unregistered_oui(manuf: Path) -> None:
    # Not assigned by the IEEE (as of netaddr 1.3.0), nor in the small manuf file.
    assert OuiDatabase(manuf_path=manuf).lookup("9c:ff:ff:00:00:01") is None
    assert OuiDatabase(manuf_path="/nonexistent").lookup("00:ff:ff:00:00:01") is None


@needs_netaddr
def test_subdivided_oui_uses_longer_prefix_from_manuf(manuf: Path) -> None:
    """netaddr only knows "IEEE Registration Authority" for MA-M/MA-S blocks; the manuf
    file names the holder."""
    db = OuiDatabase(manuf_path=manuf)
    assert db.lookup("00:55:da:10:00:01") == "KoolPOS Inc."
    assert db.lookup("00:1b:c5:00:10:05") == "OpenRB.com, Direct SIA"
    # A block with no longer entry anywhere: the registration authority itself.
    assert db.lookup("00:55:da:f0:00:01") == "IEEE Registration Authority"


@needs_netaddr
def test_netaddr_iab() -> None:
    # 00:50:C2 is IAB space, netaddr knows the 36-bit assignments.
    assert OuiDatabase(manuf_path="/nonexistent").lookup("00:50:c2:00:00:01") == "T.L.S. Corp."


# --- the manuf fallback ------------------------------------------------------------------


def test_manuf_fallback(no_netaddr: None, manuf: Path) -> None:
    db = OuiDatabase(manuf_path=manuf)
    assert db.source == f"wireshark manuf {manuf}"
    assert db.lookup("00:1b:1b:00:00:01") == "Siemens AG"
    assert db.lookup("00-80-F4-12-01-01") == "Telemechanique Electrique"
    assert db.lookup("00:50:56:00:00:01") == "VMware, Inc."
    assert db.lookup("d83a.dd00.0001") == "Raspberry Pi Trading Ltd"
    assert db.lookup("00:00:6c:00:00:01") == "Private"  # short name only
    assert db.lookup("02:00:00:00:00:01") == LOCALLY_ADMINISTERED
    assert db.lookup("01:00:5e:00:00:01") is None
    assert db.lookup("12:34") is None
    assert db.lookup("00:99:99:00:00:01") is None


def test_manuf_longest_prefix_wins(no_netaddr: None, manuf: Path) -> None:
    db = OuiDatabase(manuf_path=manuf)
    assert db.lookup("00:55:da:00:00:01") == "Shinko Technos co.,ltd."
    assert db.lookup("00:55:DA:0F:FF:FF") == "Shinko Technos co.,ltd."
    assert db.lookup("00:55:da:10:00:00") == "KoolPOS Inc."
    assert db.lookup("00:55:da:1f:ff:ff") == "KoolPOS Inc."
    assert db.lookup("00:55:da:20:00:00") == "IEEE Registration Authority"
    assert db.lookup("00:1b:c5:00:10:00") == "OpenRB.com, Direct SIA"
    assert db.lookup("00:1b:c5:00:1f:ff") == "OpenRB.com, Direct SIA"
    assert db.lookup("00:1b:c5:00:20:00") == "IEEE Registration Authority"  # /99 ignored
    assert db.lookup("00:1b:c5:0a:3f:ff") == "Five Octet Prefix Ltd"


def test_manuf_path_from_environment(
    no_netaddr: None, manuf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTSEC_MANUF", str(manuf))
    db = OuiDatabase()
    assert db.manuf_path == manuf
    assert db.lookup("00:1b:1b:00:00:01") == "Siemens AG"
    # The argument wins over the environment.
    assert OuiDatabase(manuf_path="/nonexistent").source == "none"


def test_manuf_used_when_netaddr_disabled(manuf: Path) -> None:
    db = OuiDatabase(manuf_path=manuf, use_netaddr=False)
    assert db.source.startswith("wireshark manuf")
    assert db.lookup("00:80:f4:00:00:01") == "Telemechanique Electrique"


def test_nothing_available(no_netaddr: None, tmp_path: Path) -> None:
    db = OuiDatabase(manuf_path=tmp_path / "missing")
    assert db.source == "none"
    for mac in ("00:1b:1b:00:00:01", "00:80:f4:12:01:01", "garbage", "01:00:5e:00:00:01"):
        assert db.lookup(mac) is None
    # Locally administered is a property of the address, not of a database.
    assert db.lookup("02:00:00:00:00:01") == LOCALLY_ADMINISTERED


def test_unreadable_manuf(no_netaddr: None, tmp_path: Path) -> None:
    """A directory where the file should be, or undecodable bytes: no answer, no crash."""
    assert OuiDatabase(manuf_path=tmp_path).lookup("00:1b:1b:00:00:01") is None
    path = tmp_path / "manuf"
    path.write_bytes(b"\xff\xfe\x00garbage\n00:1B:1B\tSiemens\tSiemens \xe9AG\n")
    assert OuiDatabase(manuf_path=path).lookup("00:1b:1b:00:00:01") == "Siemens \ufffdAG"


@needs_netaddr
def test_default_instance_is_lazy_and_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oui, "_default", None)
    assert oui._default is None
    first = oui.default_database()
    assert oui.default_database() is first
    assert oui.vendor("00:1b:1b:00:00:01") == "Siemens AG"


@needs_netaddr
def test_cached_per_oui(monkeypatch: pytest.MonkeyPatch) -> None:
    db = OuiDatabase()
    calls: list[int] = []
    real = db._netaddr_oui

    def counting(prefix: int) -> str | None:
        calls.append(prefix)
        return real(prefix)

    monkeypatch.setattr(db, "_netaddr_oui", counting)
    for host in range(20):
        assert db.lookup(f"00:80:f4:00:00:{host:02x}") == "TELEMECANIQUE ELECTRIQUE"
    assert calls == [0x0080F4]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Siemens AG,", "Siemens AG"),
        ("VMware, Inc.", "VMware, Inc."),
        ("  Raspberry Pi Trading Ltd \r", "Raspberry Pi Trading Ltd"),
        ("TSI, Inc..", "TSI, Inc."),
        ("OULLIM Information Technology Inc,.", "OULLIM Information Technology Inc"),
        ("ITRONIC  TECHNOLOGY CO . , LTD .", "ITRONIC TECHNOLOGY CO . , LTD"),
        ("Seibu Electric Co.,", "Seibu Electric Co."),
        (",", ""),
    ],
)
def test_clean_org(raw: str, clean: str) -> None:
    assert clean_org(raw) == clean
