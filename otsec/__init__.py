"""otsec: a passive OT (industrial control system) network security monitor."""

from dissectors import _native

_native.install()  # compiled packet path when built and up to date (see dissectors/_native.py)

__version__ = "0.1.0"
