"""Learning in the REST API (the DESIGN's `api.py`): articles, categories and lectures, public
like /learn/; registering for a lecture needs a signed-in borrower. Same selectors and services
as education/views.py."""
