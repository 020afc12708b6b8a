"""Dates as public sources give them: a day, a month or a year.

A figure "as of March 2024" covers the month: as the end of a period (or a stock's
date) it means the month's last day, as the start of a period its first day. A year
alone works the same way. Day-precision dates are taken as they are.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["LooseDate", "parse_loose_date"]

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@dataclass(frozen=True)
class LooseDate:
    """A date known to a day, a month or a year.

    Attributes:
        first: First day it can mean.
        last: Last day it can mean.
        precision: ``day``, ``month`` or ``year``.
    """

    first: dt.date
    last: dt.date
    precision: Literal["day", "month", "year"]

    def as_end(self) -> dt.date:
        """The date as the end of a period or a stock's date: its last day."""
        return self.last

    def as_start(self) -> dt.date:
        """The date as the start of a period: its first day."""
        return self.first


def parse_loose_date(text: str) -> LooseDate | None:
    """``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY`` as a :class:`LooseDate`; None if not one."""
    match = _DATE.match(text.strip())
    if match is None:
        return None
    year = int(match.group(1))
    month_text, day_text = match.group(2), match.group(3)
    try:
        if month_text is None:
            return LooseDate(dt.date(year, 1, 1), dt.date(year, 12, 31), "year")
        month = int(month_text)
        if day_text is None:
            last = calendar.monthrange(year, month)[1]
            return LooseDate(dt.date(year, month, 1), dt.date(year, month, last), "month")
        day = dt.date(year, month, int(day_text))
    except ValueError:
        return None
    return LooseDate(day, day, "day")
