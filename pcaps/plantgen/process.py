"""Deterministic process values (integer arithmetic only, identical on every machine)."""

from __future__ import annotations

_M64 = (1 << 64) - 1


def mix(*values: int) -> int:
    """A 64-bit integer hash of integers (splitmix64 rounds), independent of PYTHONHASHSEED."""
    x = 0x9E3779B97F4A7C15
    for v in values:
        x = ((x ^ (v & _M64)) * 0xBF58476D1CE4E5B9) & _M64
        x ^= x >> 31
        x = (x * 0x94D049BB133111EB) & _M64
        x ^= x >> 29
    return x


def triangle(t_s: int, period_s: int, amplitude: int) -> int:
    """A triangle wave in [-amplitude, amplitude]."""
    phase = t_s % period_s
    half = period_s // 2 or 1
    up = phase if phase < half else period_s - phase
    return (2 * amplitude * up) // half - amplitude


class ProcessImage:
    """Register and bit values of one controller as a function of time, plus writes."""

    def __init__(self, ident: int) -> None:
        self.ident = ident
        self.holding: dict[int, int] = {}
        self.coils: dict[int, bool] = {}

    def measurement(self, addr: int, t_us: int) -> int:
        """Input-register style value: a slow wave around a per-address base, with noise."""
        t_s = t_us // 1_000_000
        base = 400 + mix(self.ident, addr) % 3000
        period = 60 + mix(self.ident, addr, 1) % 240
        noise = mix(self.ident, addr, t_us // 500_000) % 7 - 3
        return max(0, base + triangle(t_s + addr * 7, period, 50 + addr % 40) + noise) & 0xFFFF

    def registers(self, addr: int, qty: int, t_us: int, holding: bool) -> list[int]:
        out = []
        for a in range(addr, addr + qty):
            if holding and a in self.holding:
                out.append(self.holding[a])
            elif holding:
                out.append((100 + mix(self.ident, a, 2) % 900) if a % 4 else 1)
            else:
                out.append(self.measurement(a, t_us))
        return out

    def bits(self, addr: int, qty: int, t_us: int, coils: bool) -> list[bool]:
        out = []
        for a in range(addr, addr + qty):
            if coils and a in self.coils:
                out.append(self.coils[a])
            else:
                slot = t_us // (20_000_000 + (a % 5) * 7_000_000)
                out.append(mix(self.ident, a, slot, 3 if coils else 4) % 3 != 0)
        return out

    def counter(self, index: int, t_us: int) -> int:
        return (mix(self.ident, index) % 50_000) + (t_us // 1_000_000) * (1 + index % 4)
