"""Text that people type is plain text: anything written like a web page tag is refused.

Output is always escaped as well; refusing markup at the door keeps it out of PDFs, text
messages and exports too. "收入 < 3000" is fine: only "<" followed by a letter, "/", "!" or "?"
reads as a tag.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z!?]")

MARKUP_REFUSED = _("The %(field)s must be plain text: remove anything written like a web page tag, such as <script>.")


def contains_markup(text: str) -> bool:
    return bool(_MARKUP.search(text))
