"""Collections in the REST API (the DESIGN's `api.py`).

- borrower: hardship requests and their offers (as /my/hardship/ does);
- staff: case queues, the case, contact logs, promises to pay and notes, alerts (as the admin
  does), each under the permissions portal/roles.py gives the roles.
"""
