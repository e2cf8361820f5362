"""The rows of the agents' queue (the changelist of cases), written with less machinery.

The admin's own `{% result_list %}` works out, for every cell of every row, which field or
method the column is, whether it links, its CSS classes and how to show an empty value, and
passes each cell through `format_html` and the template engine: about 0.3 ms a row, the
largest share of the queue page's time. `{% case_queue_results cl %}` works the columns out
once a page and joins each row's cells into one string. The HTML is the admin's, cell for cell
(tests/debt_collections/test_case_queue_rows.py compares the two); the formatting of values is
the admin's own (`display_for_field`, `display_for_value`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import template
from django.contrib.admin.templatetags.admin_list import result_headers
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import display_for_field, display_for_value
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

Cell = Callable[[Any], tuple[str, str]]  # a row's object -> its cell's classes and escaped HTML


def _blank_as_empty(value: Any) -> Any:
    return "" if isinstance(value, str) and not value.strip() else value


def _field_cell(name: str, field: models.Field[Any, Any], empty: str) -> Cell:
    if isinstance(field, models.ForeignKey):
        classes = f"field-{name} nowrap"
        return lambda obj: (classes, conditional_escape(getattr(obj, name) or empty))
    if field.is_relation:
        raise ValueError(f"the queue cannot show the relation {name!r}")
    classes = f"field-{name}" + (" nowrap" if isinstance(field, models.DateField | models.TimeField) else "")
    attname = field.attname
    if field.flatchoices or isinstance(field, models.BooleanField):
        # What `display_for_field` shows for each possible value, worked out once a page.
        shown = {value: conditional_escape(display_for_field(value, field, empty))
                 for value in ([True, False, None] if isinstance(field, models.BooleanField)
                               else [value for value, _label in field.flatchoices])}
        blank = conditional_escape(empty)
        return lambda obj: (classes, shown.get(_blank_as_empty(getattr(obj, attname)), blank))
    return lambda obj: (
        classes, conditional_escape(display_for_field(_blank_as_empty(getattr(obj, attname)), field, empty)),
    )


def _method_cell(name: str, method: Any, empty: str) -> Cell:
    boolean = getattr(method, "boolean", False)
    shown_empty = getattr(method, "empty_value_display", empty)
    base = "action-checkbox" if name == "action_checkbox" else f"field-{name}"

    def cell(obj: Any) -> tuple[str, str]:
        value = _blank_as_empty(method(obj))
        nowrap = " nowrap" if isinstance(value, dt.date | dt.time) else ""
        return base + nowrap, conditional_escape(display_for_value(value, shown_empty, boolean))

    return cell


def _cell(cl: ChangeList, name: Any) -> Cell:
    """A column of the queue: a field of the case or a method of its ModelAdmin (what the
    admin's `lookup_field` would find first); anything else is refused, not guessed at."""
    admin = cl.model_admin
    empty = admin.get_empty_value_display()
    if not isinstance(name, str):
        raise ValueError(f"the queue's columns are named, not {name!r}")
    try:
        field = cl.lookup_opts.get_field(name)
    except FieldDoesNotExist:
        if not hasattr(admin, name):
            raise ValueError(f"the queue cannot show {name!r}") from None
        return _method_cell(name, getattr(admin, name), empty)
    if not isinstance(field, models.Field) or (field.is_relation and field.attname == name):
        raise ValueError(f"the queue cannot show {name!r}")
    return _field_cell(name, field, empty)


def queue_rows(cl: ChangeList) -> list[SafeString]:
    """Each row of the page: the HTML of its cells, as the admin's `items_for_result` writes them."""
    if getattr(cl, "formset", None) or cl.is_popup or cl.to_field or cl.list_display_links is None:
        raise ValueError("the queue has no editable rows, popups, to_field links or rows without a link")
    links = set(cl.list_display_links)
    columns = [(_cell(cl, name), name in links) for name in cl.list_display]
    context: dict[str, Any] = {"preserved_filters": cl.preserved_filters, "opts": cl.opts}
    rows = []
    for obj in cl.result_list:
        url = conditional_escape(add_preserved_filters(context, cl.url_for_result(obj)))
        cells = []
        first = True
        for cell, link in columns:
            classes, html = cell(obj)
            if link:
                tag = "th" if first else "td"
                first = False
                cells.append(f'<{tag} class="{classes}"><a href="{url}">{html}</a></{tag}>')
            else:
                cells.append(f'<td class="{classes}">{html}</td>')
        rows.append(mark_safe("".join(cells)))
    return rows


@register.inclusion_tag("admin/change_list_results.html")
def case_queue_results(cl: ChangeList) -> dict[str, Any]:
    """What the admin's `{% result_list %}` gives its template; each row is one ready item."""
    headers = list(result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": [],
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": [[row] for row in queue_rows(cl)],
    }
