"""The built-in detections: stable ids, names, default severity and ATT&CK for ICS.

Rule ids are stable (documents, Sigma rules and SIEM searches refer to them); a rule's
severity may be raised per alert (a dangerous command from an unknown source is critical).
Techniques are MITRE ATT&CK for ICS ids; ``docs/detections.md`` is generated from this
table (``python -m otsec.detection.rules``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

#: Severity names, lowest first, and their ECS ``event.severity`` numbers.
SEVERITIES = {"low": 21, "medium": 47, "high": 73, "critical": 99}


@dataclass(frozen=True, slots=True)
class RuleSpec:
    id: str
    name: str
    severity: str
    techniques: tuple[str, ...]
    description: str
    #: ``otsec-builtin`` for these rules, ``otsec-sigma`` for rules from rules/.
    ruleset: str = "otsec-builtin"


#: ATT&CK for ICS technique id -> name (those the rules use).
TECHNIQUES = {
    "T0809": "Data Destruction",
    "T0814": "Denial of Service",
    "T0816": "Device Restart/Shutdown",
    "T0831": "Manipulation of Control",
    "T0836": "Modify Parameter",
    "T0839": "Module Firmware",
    "T0843": "Program Download",
    "T0845": "Program Upload",
    "T0846": "Remote System Discovery",
    "T0848": "Rogue Master",
    "T0849": "Masquerading",
    "T0855": "Unauthorized Command Message",
    "T0858": "Change Operating Mode",
    "T0861": "Point & Tag Identification",
    "T0878": "Alarm Suppression",
    "T0881": "Service Stop",
    "T0886": "Remote Services",
    "T0888": "Remote System Information Discovery",
    "T0889": "Modify Program",
}

NEW_ASSET = RuleSpec(
    "otsec.baseline.new_asset", "New asset", "medium", ("T0848",),
    "An IP address the baseline does not know sent traffic (or announced itself with ARP).",
)  # fmt: skip
NEW_EDGE = RuleSpec(
    "otsec.baseline.new_edge", "New communication edge", "medium", ("T0886",),
    "A client talked to a server (protocol and port) in a way the baseline never saw: a new "
    "industrial connection, or an IT protocol (SSH, HTTP, SMB, RDP ...) to or from an OT asset.",
)  # fmt: skip
NEW_OPERATION = RuleSpec(
    "otsec.baseline.new_operation", "New operation on a known edge", "medium", ("T0855",),
    "A known client -> server edge carried an operation class or function code the baseline "
    "never saw on it.",
)  # fmt: skip
NEW_WRITE_RANGE = RuleSpec(
    "otsec.baseline.new_write_range", "Write to a new address range", "medium", ("T0836",),
    "A client authorized to write on an edge wrote addresses (Modbus unit table, S7 DB or "
    "area, DNP3 object group) it never wrote in the baseline.",
)  # fmt: skip
UNAUTHORIZED = RuleSpec(
    "otsec.policy.unauthorized_operation", "Unauthorized write or control", "high",
    ("T0855", "T0836"),
    "A write, control, program, mode change, restart, configuration or firmware operation "
    "from a source the baseline (or the allow-list) does not authorize for that class on "
    "that target.",
)  # fmt: skip
DANGEROUS = RuleSpec(
    "otsec.policy.dangerous_command", "Dangerous command", "high", ("T0855",),
    "A command that stops, restarts, reprograms or silences a controller (S7 PLC stop, "
    "program download, block delete; DNP3 restarts, stop application, disable unsolicited, "
    "file delete; Modbus force listen only, restart communications; UMAS program "
    "operations). Raised always: medium when authorized, high from a known but "
    "unauthorized source, critical from an unknown one.",
)  # fmt: skip
IDENTITY_READ = RuleSpec(
    "otsec.recon.identity_read", "Device identity read", "medium", ("T0888",),
    "A source read a device's identity (Modbus 43/14 or 17, S7 SZL, DNP3 g0) where the "
    "baseline never saw it do so.",
)  # fmt: skip
ICS_SCAN = RuleSpec(
    "otsec.recon.ics_scan", "Industrial protocol scan", "high", ("T0846", "T0861"),
    "One source swept function codes or addresses on a device, or sent industrial requests "
    "to many devices on edges the baseline does not know, within the reconnaissance window.",
)  # fmt: skip
NETWORK_SCAN = RuleSpec(
    "otsec.recon.network_scan", "Network scan", "high", ("T0846",),
    "One source tried many host:port pairs without a conversation (half-open or refused "
    "connections) within the reconnaissance window.",
)  # fmt: skip
ZONE_VIOLATION = RuleSpec(
    "otsec.policy.zone_violation", "Zone/conduit violation", "high", ("T0886",),
    "Traffic between two IEC 62443 zones that no conduit of the zone policy allows.",
)  # fmt: skip
IDENTITY_CHANGED = RuleSpec(
    "otsec.asset.identity_changed", "Device firmware or module changed", "high", ("T0839",),
    "A device reported a different firmware version, order number, module or serial number "
    "than before (in this run or in the baseline).",
)  # fmt: skip

RULES: tuple[RuleSpec, ...] = (
    NEW_ASSET, NEW_EDGE, NEW_OPERATION, NEW_WRITE_RANGE, UNAUTHORIZED, DANGEROUS,
    IDENTITY_READ, ICS_SCAN, NETWORK_SCAN, ZONE_VIOLATION, IDENTITY_CHANGED,
)  # fmt: skip
BY_ID = {r.id: r for r in RULES}


def markdown() -> str:
    """docs/detections.md: one row per rule."""
    lines = [
        "# Built-in detections",
        "",
        "Generated by `python -m otsec.detection.rules`; the ids are stable.",
        "",
        "| rule.id | name | severity | ATT&CK for ICS | what |",
        "|---|---|---|---|---|",
    ]
    for r in RULES:
        techniques = ", ".join(f"{t} {TECHNIQUES[t]}" for t in r.techniques)
        lines.append(f"| `{r.id}` | {r.name} | {r.severity} | {techniques} | {r.description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
