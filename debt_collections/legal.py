"""The legal-assessment rule, as a pure function: is going to court worth it?

    expected net recovery = win probability × expected recovery × (1 − enforcement discount)
                            − expected cost

where the enforcement discount is a setting per difficulty level
(`PORTAL_LEGAL_ENFORCEMENT_DISCOUNTS`). The recommendation is "go" when the expected net
recovery is more than `PORTAL_LEGAL_MIN_NET_RECOVERY` and the borrower is not in hardship; a
borrower in hardship is never taken to court: the recommendation is a restructuring instead
(DESIGN.md: help before pressure). Otherwise "no-go". A person decides; this only advises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from portal.money import round_money

from .models import CaseClassification, EnforcementDifficulty, LegalRecommendation


@dataclass(frozen=True)
class Recommendation:
    discount: Decimal
    expected_net_recovery: Decimal
    min_net_recovery: Decimal
    recommendation: str  # a LegalRecommendation value
    explanation: str


def _percent(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f} %"


def recommend(
    *,
    win_probability: Decimal,
    expected_recovery: Decimal,
    enforcement_difficulty: str,
    expected_cost: Decimal,
    classification: str,
    discounts: Mapping[str, Decimal] | None = None,
    min_net_recovery: Decimal | None = None,
) -> Recommendation:
    """The recommendation for these figures (settings unless `discounts`/`min_net_recovery` are
    given). Raises ValueError on a difficulty level or probability out of range."""
    discounts = discounts if discounts is not None else settings.PORTAL_LEGAL_ENFORCEMENT_DISCOUNTS
    minimum = (
        min_net_recovery if min_net_recovery is not None else settings.PORTAL_LEGAL_MIN_NET_RECOVERY
    )
    if (
        enforcement_difficulty not in EnforcementDifficulty.values
        or enforcement_difficulty not in discounts
    ):
        raise ValueError(f"unknown enforcement difficulty {enforcement_difficulty!r}")
    if not Decimal(0) <= win_probability <= Decimal(1):
        raise ValueError("the win probability is a fraction from 0 to 1")
    discount = Decimal(discounts[enforcement_difficulty])
    net = round_money(win_probability * expected_recovery * (1 - discount) - expected_cost)
    sum_text = _("%(probability)s × ¥%(recovery)s × (1 − %(discount)s) − ¥%(cost)s = ¥%(net)s") % {
        "probability": _percent(win_probability),
        "recovery": f"{expected_recovery:,.2f}",
        "discount": _percent(discount),
        "cost": f"{expected_cost:,.2f}",
        "net": f"{net:,.2f}",
    }
    if classification == CaseClassification.HARDSHIP:
        outcome = LegalRecommendation.RESTRUCTURE
        why = _("the borrower is in hardship: offer a restructuring, not a lawsuit.")
    elif net > minimum:
        outcome = LegalRecommendation.GO
        why = _("more than the ¥%(minimum)s needed: go.") % {"minimum": f"{minimum:,.2f}"}
    else:
        outcome = LegalRecommendation.NO_GO
        why = _("not more than the ¥%(minimum)s needed: no-go.") % {"minimum": f"{minimum:,.2f}"}
    return Recommendation(discount, net, Decimal(minimum), outcome, f"{sum_text}; {why}")
