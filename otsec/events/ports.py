"""Names for the services of flows no dissector follows (by server port), so that the
inventory, the baseline and zone conduits can speak of ``ssh`` or ``http`` rather than
``tcp/22``."""

from __future__ import annotations

#: (transport, port) -> service name, for well-known IT services seen around OT assets.
IT_SERVICES: dict[tuple[str, int], str] = {
    ("tcp", 20): "ftp-data", ("tcp", 21): "ftp", ("tcp", 22): "ssh", ("tcp", 23): "telnet",
    ("tcp", 25): "smtp", ("udp", 53): "dns", ("tcp", 53): "dns", ("udp", 67): "dhcp",
    ("udp", 68): "dhcp", ("udp", 69): "tftp", ("tcp", 80): "http", ("tcp", 88): "kerberos",
    ("udp", 88): "kerberos", ("udp", 123): "ntp", ("tcp", 135): "msrpc",
    ("udp", 137): "netbios", ("udp", 138): "netbios", ("tcp", 139): "netbios",
    ("udp", 161): "snmp", ("udp", 162): "snmp-trap", ("tcp", 389): "ldap",
    ("tcp", 443): "https", ("tcp", 445): "smb", ("udp", 514): "syslog", ("tcp", 636): "ldaps",
    ("tcp", 1433): "mssql", ("tcp", 1521): "oracle", ("tcp", 1883): "mqtt",
    ("tcp", 3306): "mysql", ("tcp", 3389): "rdp", ("tcp", 5432): "postgresql",
    ("tcp", 5900): "vnc", ("tcp", 5985): "winrm", ("tcp", 5986): "winrm",
    ("tcp", 6514): "syslog-tls", ("tcp", 8080): "http", ("tcp", 8443): "https",
    ("tcp", 8883): "mqtt",
}  # fmt: skip


def service_label(transport: str, port: int, service: str | None) -> str:
    """The protocol a flow speaks: its dissector's name, else the well-known IT service of
    its server port, else the transport (``tcp``, ``udp``)."""
    if service:
        return service
    return IT_SERVICES.get((transport, port), transport)
