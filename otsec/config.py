"""otsec settings: every limit with a documented default, loadable from a TOML file.

```toml
[flows]
max_flows = 65536
tcp_established_timeout = 3600.0

[reassembly]
max_ooo_bytes_per_stream = 262144
```

Unknown keys are an error (a typo must not silently leave a default in force).
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """The configuration file is unreadable or holds an invalid setting (one-line message)."""


@dataclass(frozen=True, slots=True)
class FlowLimits:
    #: Flows held at once; when full, the least recently seen 1/16 are evicted (reported).
    max_flows: int = 65536
    #: Idle seconds (packet time) before an established TCP flow is closed.
    tcp_established_timeout: float = 3600.0
    #: Idle seconds before a TCP flow that never completed its handshake is closed.
    tcp_handshake_timeout: float = 30.0
    #: Seconds a TCP flow is kept after FIN from both sides or RST (late retransmissions).
    tcp_closed_timeout: float = 10.0
    #: Idle seconds before a UDP flow is closed.
    udp_timeout: float = 120.0
    #: How often (packet time, seconds) idle flows are looked for; a flow ends at most
    #: this much later than its timeout (its end time is still its last packet's).
    sweep_interval: float = 30.0


@dataclass(frozen=True, slots=True)
class ReassemblyLimits:
    #: Out-of-order bytes one TCP direction may buffer before its hole is skipped.
    max_ooo_bytes_per_stream: int = 256 * 1024
    #: Out-of-order segments one TCP direction may buffer.
    max_ooo_segments_per_stream: int = 256
    #: Out-of-order bytes all streams together may buffer.
    max_ooo_bytes_total: int = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class TransactionLimits:
    #: Seconds (packet time) a request waits for its response before it is unanswered.
    request_timeout: float = 30.0
    #: Requests one flow may have outstanding; beyond, the oldest is unanswered.
    max_pending: int = 64


@dataclass(frozen=True, slots=True)
class ModbusSettings:
    #: Invalid MBAP headers, before any valid one, after which a flow is not Modbus.
    give_up_after: int = 3


@dataclass(frozen=True, slots=True)
class S7commSettings:
    #: Invalid TPKT headers, before any valid one, after which a flow is not S7comm.
    give_up_after: int = 3


@dataclass(frozen=True, slots=True)
class Dnp3Settings:
    #: Invalid link headers, before any valid one, after which a flow is not DNP3.
    give_up_after: int = 3
    #: Largest application fragment reassembled from transport segments (octets); a
    #: larger one is ``dnp3.fragment_too_large`` and dropped. IEEE 1815 devices default
    #: to 2048.
    max_fragment: int = 8192
    #: Points (values) kept per application fragment; the rest are walked, counted and
    #: reported once as ``dnp3.points_truncated``.
    max_points: int = 8192
    #: Recognise DNP3 on ports no service is bound to, by its start bytes and a valid
    #: link header CRC in the first payload of a flow.
    probe: bool = True


@dataclass(frozen=True, slots=True)
class DetectionSettings:
    #: Seconds during which repeats of one rule on one edge are folded into one alert
    #: (the first is raised at once, the repeats as one aggregate when the window ends).
    aggregation_window: float = 300.0
    #: Seconds over which reconnaissance is counted per source.
    recon_window: float = 600.0
    #: Distinct host:port pairs one source tries without a conversation (half-open or
    #: refused connections) within the window: a network scan.
    scan_targets: int = 8
    #: Distinct function codes one source sends one server beyond the baseline's within
    #: the window: a function-code scan.
    scan_functions: int = 16
    #: Distinct servers one source sends industrial requests to on edges the baseline
    #: does not know, within the window: an ICS sweep.
    scan_servers: int = 4
    #: Distinct start addresses one source reads on one server, on an edge or with
    #: function codes the baseline does not know, within the window: an address sweep.
    scan_addresses: int = 64


@dataclass(frozen=True, slots=True)
class SigmaSettings:
    #: Rule files or folders evaluated in the monitor ("default" is the pack in rules/).
    rules: tuple[str, ...] = ()
    #: Values of the rules' allow-list placeholders (%engineering_workstations% ...).
    vars: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    """``[capture]``: the appliance's live capture (``otsec sniff``); the command line
    overrides each setting."""

    #: The mirror/SPAN interface.
    interface: str = ""
    #: "auto" (pcap when installed, else scapy), "pcap" or "scapy".
    backend: str = "auto"
    #: Kernel filter replacing the default one ("" captures everything; None: the default).
    bpf: str | None = None
    #: Server ports the default filter passes besides the industrial ones.
    extra_ports: tuple[int, ...] = ()
    #: Run as this user once the capture is open (when started as root).
    user: str = ""
    #: Kernel capture buffer (MiB), snapshot length, promiscuous mode.
    buffer_mb: int = 32
    snaplen: int = 65535
    promisc: bool = True
    #: The baseline to monitor with (``--baseline`` overrides it).
    baseline: str = ""
    #: Seconds between baseline checkpoints while learning.
    checkpoint: float = 300.0
    #: Seconds between sensor status documents (capture counters) to the SIEM.
    status_every: float = 300.0


BACKENDS = ("auto", "pcap", "scapy")


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    """A named IEC 62443 zone: networks (CIDR) and single hosts."""

    name: str
    networks: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class ConduitSpec:
    """Traffic allowed from one zone to another (client zone -> server zone); empty
    ``protocols``/``ports`` mean any."""

    source: str
    destination: str
    protocols: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class AllowRule:
    """Operation classes a source may perform on a target, whatever the baseline says."""

    sources: tuple[str, ...]
    targets: tuple[str, ...]
    operations: tuple[str, ...]


#: TCP/UDP server ports of industrial protocols (flow orientation, reporting).
DEFAULT_ICS_PORTS: dict[int, str] = {
    102: "s7comm",
    502: "modbus",
    20000: "dnp3",
    2404: "iec104",
    44818: "enip",
    2222: "enip-io",
    47808: "bacnet",
    4840: "opcua",
    1911: "fox",
    4911: "fox-tls",
    789: "redlion",
    9600: "omron-fins",
    5007: "melsec",
    18245: "ge-srtp",
    20547: "proconos",
    1962: "pcworx",
    34962: "profinet-rt",
    34963: "profinet-rt",
    34964: "profinet-cm",
}


@dataclass(frozen=True, slots=True)
class Settings:
    flows: FlowLimits = field(default_factory=FlowLimits)
    reassembly: ReassemblyLimits = field(default_factory=ReassemblyLimits)
    transactions: TransactionLimits = field(default_factory=TransactionLimits)
    modbus: ModbusSettings = field(default_factory=ModbusSettings)
    s7comm: S7commSettings = field(default_factory=S7commSettings)
    dnp3: Dnp3Settings = field(default_factory=Dnp3Settings)
    detection: DetectionSettings = field(default_factory=DetectionSettings)
    #: Server port -> protocol name for the industrial protocols otsec reports on.
    ics_ports: dict[int, str] = field(default_factory=lambda: dict(DEFAULT_ICS_PORTS))
    sigma: SigmaSettings = field(default_factory=SigmaSettings)
    capture: CaptureSettings = field(default_factory=CaptureSettings)
    zones: tuple[ZoneSpec, ...] = ()
    conduits: tuple[ConduitSpec, ...] = ()
    allow: tuple[AllowRule, ...] = ()
    #: The output sections ([sensor], [output], [elasticsearch], [syslog]) as written;
    #: otsec.outputs checks them (the packet path never reads them).
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)


#: Sections otsec.outputs reads.
OUTPUT_SECTIONS = frozenset({"sensor", "output", "elasticsearch", "syslog"})

_SECTIONS: dict[str, type[Any]] = {
    "flows": FlowLimits,
    "reassembly": ReassemblyLimits,
    "transactions": TransactionLimits,
    "modbus": ModbusSettings,
    "s7comm": S7commSettings,
    "dnp3": Dnp3Settings,
    "detection": DetectionSettings,
}


def _section(cls: type[Any], name: str, values: dict[str, Any], path: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{path}: unknown setting [{name}] {key}")
        default = getattr(cls(), key)
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not type(default):
            raise ConfigError(
                f"{path}: [{name}] {key} must be {type(default).__name__}, got {value!r}"
            )
        if not isinstance(value, bool | str) and (
            value < 0 or (isinstance(value, int) and value == 0)
        ):
            raise ConfigError(f"{path}: [{name}] {key} must be positive, got {value!r}")
        kwargs[key] = value
    return cls(**kwargs)


def load(path: str | Path | None) -> Settings:
    """Settings from a TOML file, defaults for everything the file does not name."""
    settings = Settings()
    if path is None:
        return settings
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    for name, values in data.items():
        if name == "ics_ports":
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: [ics_ports] must be a table of port = name")
            ports = dict(settings.ics_ports)
            for port, proto in values.items():
                if not port.isdigit() or not 0 < int(port) < 65536 or not isinstance(proto, str):
                    raise ConfigError(f"{path}: [ics_ports] bad entry {port} = {proto!r}")
                ports[int(port)] = proto
            settings = replace(settings, ics_ports=ports)
        elif name == "zones":
            settings = replace(settings, zones=_zones(values, str(path)))
        elif name == "sigma":
            settings = replace(settings, sigma=_sigma(values, str(path)))
        elif name == "capture":
            settings = replace(settings, capture=_capture(values, str(path)))
        elif name == "conduits":
            settings = replace(settings, conduits=_conduits(values, str(path)))
        elif name == "detection" and isinstance(values, dict) and "allow" in values:
            values = dict(values)
            allow = _allow(values.pop("allow"), str(path))
            section = _section(DetectionSettings, name, values, str(path))
            settings = replace(settings, detection=section, allow=allow)
        elif name in OUTPUT_SECTIONS:
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: [{name}] must be a table")
            settings = replace(settings, outputs={**settings.outputs, name: dict(values)})
        elif name in _SECTIONS:
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: [{name}] must be a table")
            settings = replace(
                settings, **{name: _section(_SECTIONS[name], name, values, str(path))}
            )
        else:
            raise ConfigError(f"{path}: unknown section [{name}]")
    names = {z.name for z in settings.zones}
    for c in settings.conduits:
        for zone in (c.source, c.destination):
            if zone not in names:
                raise ConfigError(f"{path}: conduit {c.source} -> {c.destination}: no zone {zone}")
    return settings


def _strings(value: Any, what: str, path: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{path}: {what} must be a string or a list of strings")
    return tuple(value)


def _networks(value: Any, what: str, path: str) -> tuple[str, ...]:
    out = []
    for text in _strings(value, what, path):
        try:
            out.append(str(ipaddress.ip_network(text, strict=False)))
        except ValueError:
            raise ConfigError(f"{path}: {what}: {text!r} is not an address or network") from None
    return tuple(out)


def _zones(values: Any, path: str) -> tuple[ZoneSpec, ...]:
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: [zones] must hold one table per zone")
    zones = []
    for name, body in sorted(values.items()):
        if not isinstance(body, dict) or set(body) - {"networks", "description"}:
            raise ConfigError(f"{path}: [zones.{name}] takes networks and description")
        if "networks" not in body:
            raise ConfigError(f"{path}: [zones.{name}] needs networks")
        nets = _networks(body["networks"], f"[zones.{name}] networks", path)
        desc = body.get("description", "")
        if not isinstance(desc, str):
            raise ConfigError(f"{path}: [zones.{name}] description must be a string")
        zones.append(ZoneSpec(name, nets, desc))
    return tuple(zones)


def _conduits(values: Any, path: str) -> tuple[ConduitSpec, ...]:
    if not isinstance(values, list):
        raise ConfigError(f"{path}: conduits must be an array of tables ([[conduits]])")
    out = []
    for i, body in enumerate(values, 1):
        where = f"[[conduits]] #{i}"
        if not isinstance(body, dict) or set(body) - {"from", "to", "protocols", "ports"}:
            raise ConfigError(f"{path}: {where} takes from, to, protocols and ports")
        if not isinstance(body.get("from"), str) or not isinstance(body.get("to"), str):
            raise ConfigError(f"{path}: {where} needs from and to (zone names)")
        protocols = _strings(body.get("protocols", []), f"{where} protocols", path)
        ports = body.get("ports", [])
        if not isinstance(ports, list) or not all(
            isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536 for p in ports
        ):
            raise ConfigError(f"{path}: {where} ports must be a list of port numbers")
        out.append(ConduitSpec(body["from"], body["to"], protocols, tuple(ports)))
    return tuple(out)


def _allow(values: Any, path: str) -> tuple[AllowRule, ...]:
    if not isinstance(values, list):
        raise ConfigError(f"{path}: detection.allow must be an array of tables")
    out = []
    for i, body in enumerate(values, 1):
        where = f"[[detection.allow]] #{i}"
        if not isinstance(body, dict) or set(body) != {"sources", "targets", "operations"}:
            raise ConfigError(f"{path}: {where} needs exactly sources, targets and operations")
        out.append(
            AllowRule(
                _networks(body["sources"], f"{where} sources", path),
                _networks(body["targets"], f"{where} targets", path),
                _strings(body["operations"], f"{where} operations", path),
            )
        )
    return tuple(out)


def _sigma(values: Any, path: str) -> SigmaSettings:
    if not isinstance(values, dict) or set(values) - {"rules", "vars"}:
        raise ConfigError(f"{path}: [sigma] takes rules and vars")
    rules = _strings(values.get("rules", []), "[sigma] rules", path) if "rules" in values else ()
    raw = values.get("vars", {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: [sigma.vars] must be a table of name = [values]")
    variables = []
    for name, items in sorted(raw.items()):
        variables.append((name, _strings(items, f"[sigma.vars] {name}", path)))
    return SigmaSettings(rules, tuple(variables))


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any, what: str) -> float:
    """Seconds from 90, '90', '90s', '30m', '8h', '14d'; ConfigError naming ``what``."""
    if isinstance(value, bool):
        raise ConfigError(f"{what} {value!r}: use a number with s, m, h or d (30m, 8h)")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        t = str(value).strip().lower()
        unit = _UNITS.get(t[-1:]) if t else None
        try:
            seconds = float(t[:-1] if unit else t) * (unit or 1)
        except ValueError:
            raise ConfigError(
                f"{what} {value!r}: use a number with s, m, h or d (30m, 8h)"
            ) from None
    if not seconds > 0 or seconds == float("inf"):
        raise ConfigError(f"{what} {value!r} must be more than zero")
    return seconds


def _capture(values: Any, path: str) -> CaptureSettings:
    """[capture]: durations, ports, the backend and the filter are checked here, the
    plain strings, numbers and switches by :func:`_section`."""
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: [capture] must be a table")
    special: dict[str, Any] = {}
    plain: dict[str, Any] = {}
    for key, value in values.items():
        where = f"{path}: [capture] {key}"
        if key in ("checkpoint", "status_every"):
            special[key] = parse_duration(value, f"{where}:")
        elif key == "extra_ports":
            if not isinstance(value, list) or not all(
                isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536 for p in value
            ):
                raise ConfigError(f"{where} must be a list of port numbers")
            special[key] = tuple(value)
        elif key == "backend" and value not in BACKENDS:
            raise ConfigError(f"{where} must be one of {', '.join(BACKENDS)}, got {value!r}")
        elif key == "bpf":  # its default (None: the monitor's filter) is not a string
            if not isinstance(value, str):
                raise ConfigError(f'{where} must be a string ("" captures everything)')
            special[key] = value
        else:
            plain[key] = value
    section: CaptureSettings = _section(CaptureSettings, "capture", plain, path)
    return replace(section, **special)
