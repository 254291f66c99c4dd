"""`response.elapsed`: a `datetime.timedelta` (as in httpx and requests) that still acts as
the float of seconds httpr 0.7.8 returned, so both kinds of code keep working."""

from __future__ import annotations

import datetime
from typing import Any

__all__ = ["Elapsed"]

_Number = (int, float)


class Elapsed(datetime.timedelta):
    """A `timedelta` that also converts, compares, rounds, formats and adds like a float of
    seconds: `r.elapsed.total_seconds()`, `float(r.elapsed)`, `r.elapsed < 0.5` and
    `f"{r.elapsed:.3f}"` all work."""

    def __float__(self) -> float:
        return self.total_seconds()

    def __round__(self, ndigits: int | None = None) -> Any:
        return round(self.total_seconds(), ndigits)

    def __format__(self, spec: str) -> str:
        # A numeric format spec (".3f", "8.2f") formats the seconds; "" keeps timedelta's str.
        if spec:
            return format(self.total_seconds(), spec)
        return str(self)

    def _seconds_of(self, other: object) -> float | None:
        if isinstance(other, _Number) and not isinstance(other, bool):
            return float(other)
        return None

    def __lt__(self, other: object) -> bool:
        s = self._seconds_of(other)
        return self.total_seconds() < s if s is not None else super().__lt__(other)  # type: ignore[operator]

    def __le__(self, other: object) -> bool:
        s = self._seconds_of(other)
        return self.total_seconds() <= s if s is not None else super().__le__(other)  # type: ignore[operator]

    def __gt__(self, other: object) -> bool:
        s = self._seconds_of(other)
        return self.total_seconds() > s if s is not None else super().__gt__(other)  # type: ignore[operator]

    def __ge__(self, other: object) -> bool:
        s = self._seconds_of(other)
        return self.total_seconds() >= s if s is not None else super().__ge__(other)  # type: ignore[operator]

    def __eq__(self, other: object) -> bool:
        s = self._seconds_of(other)
        return self.total_seconds() == s if s is not None else super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = datetime.timedelta.__hash__

    def __add__(self, other: Any) -> Any:
        s = self._seconds_of(other)
        return self.total_seconds() + s if s is not None else super().__add__(other)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        s = self._seconds_of(other)
        return self.total_seconds() - s if s is not None else super().__sub__(other)

    def __rsub__(self, other: Any) -> Any:
        s = self._seconds_of(other)
        return s - self.total_seconds() if s is not None else super().__rsub__(other)

    def __mul__(self, other: Any) -> Any:
        # `r.elapsed * 1000` (milliseconds) was a float in 0.7.8; a timedelta times a
        # number is a timedelta, so keep the float meaning.
        s = self._seconds_of(other)
        return self.total_seconds() * s if s is not None else super().__mul__(other)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Any:
        s = self._seconds_of(other)
        return self.total_seconds() / s if s is not None else super().__truediv__(other)

    def __reduce__(self) -> Any:
        return (Elapsed, (self.days, self.seconds, self.microseconds))

