"""otsec: a passive OT (industrial control system) network security monitor."""

__version__ = "0.1.0"
