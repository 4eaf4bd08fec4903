"""Alerts on the console: one line each, coloured by severity (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from otsec.detection.alerts import Alert
from otsec.events.types import isotime

STYLES = {"low": "cyan", "medium": "yellow", "high": "bold red", "critical": "bold white on red"}


class ConsoleAlerts:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.shown = 0

    def __call__(self, alert: Alert) -> None:
        line = Text()
        line.append(isotime(alert.ts)[11:23] + " ", style="dim")
        line.append(f"{alert.severity.upper():<8}", style=STYLES.get(alert.severity, ""))
        line.append(f" {alert.rule.name}: ", style="bold")
        line.append(alert.message)
        if alert.techniques:
            line.append(f"  [{', '.join(alert.techniques)}]", style="dim")
        self.console.print(line, soft_wrap=True, highlight=False)
        self.shown += 1
