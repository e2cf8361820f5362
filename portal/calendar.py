"""Business dates. The close of business sets them; elsewhere "today" in Asia/Shanghai."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def business_today() -> dt.date:
    return timezone.localdate()
