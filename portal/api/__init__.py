"""The REST API's shared parts: errors, authentication, tokens, idempotency, throttles,
pagination, permissions, the OpenAPI schema and the URLs under /api/.

Each app keeps its own endpoints (`loans.api`, `debt_collections.api`, `education.api`): thin
adapters around the same services and selectors the pages use.
"""
