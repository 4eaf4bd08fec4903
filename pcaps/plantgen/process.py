"""Deterministic process values (integer arithmetic only, identical on every machine)."""

from __future__ import annotations

_M64 = (1 << 64) - 1
_M32 = (1 << 32) - 1


def mix(*values: int) -> int:
    """A 64-bit integer hash of integers (splitmix64 rounds), independent of PYTHONHASHSEED."""
    x = 0x9E3779B97F4A7C15
    for v in values:
        x = ((x ^ (v & _M64)) * 0xBF58476D1CE4E5B9) & _M64
        x ^= x >> 31
        x = (x * 0x94D049BB133111EB) & _M64
        x ^= x >> 29
    return x


def _quick(a: int, b: int) -> int:
    """A cheap 32-bit hash of two integers, for per-packet noise."""
    x = ((a * 0x9E3779B1) ^ (b * 0x85EBCA77)) & _M32
    x = ((x ^ (x >> 15)) * 0xC2B2AE3D) & _M32
    return x ^ (x >> 13)


def triangle(t_s: int, period_s: int, amplitude: int) -> int:
    """A triangle wave in [-amplitude, amplitude]."""
    phase = t_s % period_s
    half = period_s // 2 or 1
    up = phase if phase < half else period_s - phase
    return (2 * amplitude * up) // half - amplitude


class ProcessImage:
    """Register and bit values of one controller as a function of time, plus writes."""

    def __init__(self, ident: int) -> None:
        self.ident = ident & _M32
        self.holding: dict[int, int] = {}
        self.coils: dict[int, bool] = {}
        self._shape: dict[int, tuple[int, int, int, int]] = {}

    def _shape_of(self, addr: int) -> tuple[int, int, int, int]:
        shape = self._shape.get(addr)
        if shape is None:
            h = mix(self.ident, addr)
            # base level, wave period (s), amplitude, default setpoint
            shape = (400 + h % 3000, 60 + (h >> 12) % 240, 50 + addr % 40, 100 + (h >> 24) % 900)
            self._shape[addr] = shape
        return shape

    def measurement(self, addr: int, t_us: int) -> int:
        """Input-register style value: a slow wave around a per-address base, with noise."""
        base, period, amplitude, _ = self._shape_of(addr)
        noise = _quick(self.ident ^ addr, t_us // 500_000) % 7 - 3
        wave = triangle(t_us // 1_000_000 + addr * 7, period, amplitude)
        return max(0, base + wave + noise) & 0xFFFF

    def registers(self, addr: int, qty: int, t_us: int, holding: bool) -> list[int]:
        if not holding:
            return [self.measurement(a, t_us) for a in range(addr, addr + qty)]
        out = []
        for a in range(addr, addr + qty):
            value = self.holding.get(a)
            if value is None:
                value = self._shape_of(a)[3] if a % 4 else 1
            out.append(value)
        return out

    def bits(self, addr: int, qty: int, t_us: int, coils: bool) -> list[bool]:
        out = []
        salt = self.ident ^ (0x5BD1E995 if coils else 0x1B873593)
        for a in range(addr, addr + qty):
            if coils and a in self.coils:
                out.append(self.coils[a])
            else:
                slot = t_us // (20_000_000 + (a % 5) * 7_000_000)
                out.append(_quick(salt ^ a, slot) % 3 != 0)
        return out

    def counter(self, index: int, t_us: int) -> int:
        return self._shape_of(1000 + index)[0] * 17 + (t_us // 1_000_000) * (1 + index % 4)
