"""The case page's "Legal and write-off" block (templates/admin/collections/_case_legal.html)
reads its rows through this tag, so the case page's view needs no change: three queries."""

from __future__ import annotations

from django import template

from ..models import Case
from ..selectors_legal import CaseLegal, case_legal

register = template.Library()


@register.simple_tag
def case_legal_block(case: Case) -> CaseLegal:
    return case_legal(case=case)
