"""Pure protocol decoders for otsec (standard library only).

Every dissector is sans-IO: bytes in, typed records or named anomalies out.
Nothing in this package opens sockets, reads clocks, logs or raises alerts.
"""

from dissectors import _native

_native.install()  # compiled modules when built and up to date (see dissectors/_native.py)
