"""Close-of-business runs in the admin: when each date ran, what each step did, what failed."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from portal.admin_tools import ReadOnlyAdminMixin

from .models import CloseOfBusinessRun


@admin.register(CloseOfBusinessRun)
class CloseOfBusinessRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("business_date", "status", "started_at", "duration", "attempts", "loans_aged", "penalty",
                    "cases_opened", "has_errors")
    list_filter = ("status",)
    date_hierarchy = "business_date"
    fields = ("business_date", "status", "started_at", "finished_at", "heartbeat_at", "attempts", "steps_done",
              "counts_table", "errors")
    readonly_fields = fields

    def _age(self, run: CloseOfBusinessRun) -> dict[str, int]:
        return dict(run.counts.get("age", {}))

    @admin.display(description=_("duration"))
    def duration(self, run: CloseOfBusinessRun) -> str:
        if run.finished_at is None:
            return "–"
        return f"{(run.finished_at - run.started_at).total_seconds():.1f} s"

    @admin.display(description=_("loans aged"))
    def loans_aged(self, run: CloseOfBusinessRun) -> int:
        return self._age(run).get("loans_aged", 0)

    @admin.display(description=_("penalty accrued"))
    def penalty(self, run: CloseOfBusinessRun) -> str:
        return f"¥{Decimal(self._age(run).get('penalty_fen', 0)) / 100:,.2f}"

    @admin.display(description=_("cases opened"))
    def cases_opened(self, run: CloseOfBusinessRun) -> int:
        return self._age(run).get("cases_opened", 0) + run.counts.get("cases", {}).get("cases_opened", 0)

    @admin.display(description=_("errors"), boolean=True)
    def has_errors(self, run: CloseOfBusinessRun) -> bool:
        return bool(run.errors)

    @admin.display(description=_("counts per step"))
    def counts_table(self, run: CloseOfBusinessRun) -> SafeString:
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td style='text-align:right'>{}</td></tr>",
            ((step, name, value) for step, counts in run.counts.items() for name, value in sorted(counts.items())),
        )
        return format_html("<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
                           _("step"), _("count"), _("value"), rows)
