"""Offline MAC vendor lookup: which manufacturer an Ethernet address was assigned to.

Nothing here touches the network. Two databases are consulted, both shipped with software
already on the sensor:

* the ``netaddr`` package (primary), which bundles the IEEE MA-L (OUI, 24-bit) registry and
  the old IAB (36-bit) registry;
* Wireshark's ``manuf`` file (fallback, ``/usr/share/wireshark/manuf`` unless ``$OTSEC_MANUF``
  or the ``manuf_path`` argument says otherwise), lines ``PREFIX<TAB>short<TAB>long name``
  where ``PREFIX`` is ``00:1B:1B`` (24 bits) or ``00:1B:C5:0A:30:00/36`` with a mask length
  (MA-M /28, MA-S and IAB /36). It is read only when netaddr is missing or has no useful
  answer, and the longest matching prefix wins.

An OUI that the IEEE split into smaller blocks (MA-M, MA-S, IAB) is registered to "IEEE
Registration Authority" itself; that answer is only returned when no longer prefix names
the actual holder.

Addresses with the locally administered bit (``0x02`` of the first octet: virtual machines,
randomised phone addresses, some PLC redundancy schemes) have no vendor and answer
``"locally administered"``; group (multicast/broadcast, bit ``0x01``) addresses answer
``None``. A lookup never raises: malformed input answers ``None`` as well.
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_MANUF",
    "LOCALLY_ADMINISTERED",
    "OuiDatabase",
    "clean_org",
    "default_database",
    "parse_mac",
    "vendor",
]

#: Where Debian/Ubuntu's ``wireshark-common`` installs the manuf file.
DEFAULT_MANUF = "/usr/share/wireshark/manuf"

#: What :meth:`OuiDatabase.lookup` answers for an address with the U/L bit set.
LOCALLY_ADMINISTERED = "locally administered"

#: The registrant of OUIs that the IEEE subdivided into MA-M/MA-S/IAB blocks.
_GENERIC = "ieee registration authority"

_HEX12 = re.compile(r"[0-9A-Fa-f]{12}")
_GROUP2 = re.compile(r"[0-9A-Fa-f]{1,2}")
_GROUP4 = re.compile(r"[0-9A-Fa-f]{4}")


def parse_mac(mac: object) -> int | None:
    """A 48-bit MAC address as an integer, or ``None`` when ``mac`` is not one.

    Accepts 6 raw bytes (``bytes``, ``bytearray``, ``memoryview``) and text in any case:
    ``00:80:f4:12:01:01``, ``00-80-F4-12-01-01`` (one or two hex digits per group),
    ``0080.f412.0101`` (Cisco) and ``0080f4120101``."""
    try:
        if isinstance(mac, bytes | bytearray | memoryview):
            raw = bytes(mac)
            return int.from_bytes(raw, "big") if len(raw) == 6 else None
        if not isinstance(mac, str):
            return None
        text = mac.strip()
        if _HEX12.fullmatch(text):
            return int(text, 16)
        for sep in (":", "-"):
            if sep in text:
                groups = text.split(sep)
                if len(groups) != 6 or not all(_GROUP2.fullmatch(g) for g in groups):
                    return None
                return int("".join(g.zfill(2) for g in groups), 16)
        if "." in text:
            groups = text.split(".")
            if len(groups) != 3 or not all(_GROUP4.fullmatch(g) for g in groups):
                return None
            return int("".join(groups), 16)
    except (TypeError, ValueError):
        return None
    return None


def clean_org(text: str) -> str:
    """A registry's organisation name tidied for display: whitespace collapsed, stray
    trailing punctuation dropped (``"Siemens AG,"`` -> ``"Siemens AG"``, ``"Inc,."`` ->
    ``"Inc"``, ``"Inc.."`` -> ``"Inc."``), abbreviation periods kept (``"VMware, Inc."``)."""
    s = " ".join(text.split())
    while True:
        s = s.rstrip(" ,;:")
        if s.endswith(("..", ",.", " .")):
            s = s[:-1]
            continue
        return s


def _is_generic(name: str | None) -> bool:
    return name is not None and name.lower() == _GENERIC


def _load_netaddr() -> Any:
    """The ``netaddr`` module, or ``None`` when it cannot be imported."""
    try:
        return importlib.import_module("netaddr")
    except Exception:
        return None


def _parse_manuf(path: Path) -> dict[int, dict[int, str]]:
    """A manuf file as ``{mask_bits: {prefix >> (48 - mask_bits): name}}``; the long name
    when present, else the short one. Lines that do not parse are skipped; only the first
    entry of a prefix counts (as in Wireshark)."""
    table: dict[int, dict[int, str]] = {}
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.split("#", 1)[0].rstrip()
            if not line:
                continue
            fields = [p.strip() for p in line.split("\t") if p.strip()]
            if len(fields) < 2:
                fields = line.split(None, 1)
                if len(fields) < 2:
                    continue
            prefix, _, bits_text = fields[0].partition("/")
            octets = re.split(r"[:\-.]", prefix)
            if not 3 <= len(octets) <= 6 or not all(_GROUP2.fullmatch(o) for o in octets):
                continue
            try:
                bits = int(bits_text) if bits_text else 8 * len(octets)
            except ValueError:
                continue
            if not 1 <= bits <= min(48, 8 * len(octets)):
                continue
            value = int("".join(o.zfill(2) for o in octets).ljust(12, "0"), 16)
            name = clean_org(fields[2] if len(fields) > 2 else fields[1])
            if name:
                table.setdefault(bits, {}).setdefault(value >> (48 - bits), name)
    return table


class OuiDatabase:
    """MAC address -> vendor name, from netaddr with Wireshark's manuf as fallback.

    ``source`` names the database answering for this instance: ``"netaddr 1.3.0"``,
    ``"wireshark manuf /usr/share/wireshark/manuf"`` (netaddr missing or disabled) or
    ``"none"`` (neither available: every lookup answers ``None``). The manuf file is read
    lazily, on the first lookup netaddr cannot answer; answers are cached per 24-bit OUI.
    """

    def __init__(
        self, manuf_path: str | os.PathLike[str] | None = None, *, use_netaddr: bool = True
    ) -> None:
        path = manuf_path if manuf_path is not None else os.environ.get("OTSEC_MANUF")
        self.manuf_path = Path(path if path else DEFAULT_MANUF)
        self._netaddr: Any = _load_netaddr() if use_netaddr else None
        self._manuf: dict[int, dict[int, str]] | None = None
        self._manuf_ok = self.manuf_path.is_file()
        self._oui_cache: dict[int, tuple[str | None, bool]] = {}
        if self._netaddr is not None:
            self.source = f"netaddr {getattr(self._netaddr, '__version__', '?')}"
        elif self._manuf_ok:
            self.source = f"wireshark manuf {self.manuf_path}"
        else:
            self.source = "none"

    # --- the two databases -------------------------------------------------------------

    def _manuf_table(self) -> dict[int, dict[int, str]]:
        if self._manuf is None:
            try:
                self._manuf = _parse_manuf(self.manuf_path) if self._manuf_ok else {}
            except OSError:
                self._manuf = {}
        return self._manuf

    def _manuf_match(self, value: int, longest: int, shortest: int) -> str | None:
        """The manuf entry of the longest prefix of ``value`` between the two mask lengths."""
        table = self._manuf_table()
        for bits in sorted((b for b in table if shortest <= b <= longest), reverse=True):
            name = table[bits].get(value >> (48 - bits))
            if name is not None:
                return name
        return None

    def _netaddr_oui(self, oui: int) -> str | None:
        if self._netaddr is None:
            return None
        try:
            org = self._netaddr.OUI(oui).registration().org
        except Exception:  # NotRegisteredError, or anything a broken install raises
            return None
        return clean_org(org) if isinstance(org, str) and org.strip() else None

    def _netaddr_iab(self, value: int) -> str | None:
        if self._netaddr is None:
            return None
        try:
            eui = self._netaddr.EUI(value)
            if not eui.is_iab():
                return None
            org = eui.iab.registration().org
        except Exception:
            return None
        return clean_org(org) if isinstance(org, str) and org.strip() else None

    def _oui_answer(self, oui: int) -> tuple[str | None, bool]:
        """(name, final) for a 24-bit OUI; ``final`` is False when a longer prefix may name
        the holder better (no answer, or the IEEE's own registration)."""
        cached = self._oui_cache.get(oui)
        if cached is not None:
            return cached
        name = self._netaddr_oui(oui)
        if name is None or _is_generic(name):
            from_manuf = self._manuf_match(oui << 24, 24, 24)
            if from_manuf is not None and (name is None or not _is_generic(from_manuf)):
                name = from_manuf
        answer = (name, name is not None and not _is_generic(name))
        self._oui_cache[oui] = answer
        return answer

    # --- public ------------------------------------------------------------------------

    def lookup(self, mac: bytes | str) -> str | None:
        """The vendor that ``mac`` was assigned to; ``"locally administered"`` for a
        locally administered unicast address; ``None`` for group addresses, unknown
        prefixes and anything that is not a MAC address."""
        value = parse_mac(mac)
        if value is None:
            return None
        first = value >> 40
        if first & 0x01:
            return None
        if first & 0x02:
            return LOCALLY_ADMINISTERED
        try:
            name, final = self._oui_answer(value >> 24)
            if final:
                return name
            longer = self._netaddr_iab(value) or self._manuf_match(value, 47, 25)
        except Exception:  # never let a lookup take the caller down
            return None
        return longer if longer is not None else name

    def __call__(self, mac: bytes | str) -> str | None:
        return self.lookup(mac)

    def __repr__(self) -> str:
        return f"OuiDatabase(source={self.source!r})"


_default: OuiDatabase | None = None


def default_database() -> OuiDatabase:
    """The shared instance :func:`vendor` uses, built on first use (honours ``$OTSEC_MANUF``
    at that moment)."""
    global _default  # noqa: PLW0603 - a lazily built module singleton
    if _default is None:
        _default = OuiDatabase()
    return _default


def vendor(mac: bytes | str) -> str | None:
    """The vendor of ``mac`` from the default database (see :meth:`OuiDatabase.lookup`)."""
    return default_database().lookup(mac)
