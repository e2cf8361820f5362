"""The loan book in the REST API (the DESIGN's `api.py`): serializers, views and URLs.

Borrowers read their own loans, schedules, payments and payoff quote, repay through payment
intents (create and confirm, with an Idempotency-Key) and ask for the interest-free extension:
the same selectors and services as the pages in loans/views.py and loans/views_repay.py.
"""
