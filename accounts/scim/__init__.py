"""SCIM 2.0 provisioning (RFC 7643/7644) at /scim/v2/: the company directory creates, changes and
removes Enclave's users and groups, and every change applies from the person's next request.

Why scim2-server, and not django-scim2
---------------------------------------
django-scim2 0.23.0 installs on Django 5.2, but fitting it to Enclave would have meant replacing
most of it:
- Its adapters write by setting model fields and calling ``save()`` (``SCIMUser.handle_replace``
  does ``setattr(user, "is_active", False)``), and DELETE deletes the row. Every write here must go
  through accounts/directory.py (the trail, the break-glass rule, sessions ended), so each
  ``from_dict``/``save``/``delete``/``handle_*`` would be overridden.
- Its group PATCH reads the members from ``value`` only: Entra's remove, ``{"op": "Remove", "path":
  "members[value eq \\"id\\"]"}`` with no value, removes nobody and answers 200; a replace of
  ``displayName`` through a path reads ``value[0]["value"]`` and fails on a plain string.
- Its filters compile to raw SQL over the whole table and are then filtered and counted in Python
  (``sum(1 for _ in qs)``); the group filter knows no attribute unless configured.
- It needs ``scim_id``/``scim_external_id`` columns on the user and group models (Django's Group
  cannot take them), answers unknown exceptions with a 500, a bad filter with a 400 without
  ``scimType``, and relies on ``request.user`` for authentication, which a directory token is not.

scim2-server (with scim2-models, by the authors of scim2-tester) is the protocol without storage
or web framework: it validates bodies against the standard schemas, applies PATCH as RFC 7644 says
(op case-insensitive as Entra sends it, value objects without a path, ``members[value eq "…"]``
paths), parses filters and builds every response and error. What is Enclave's is small:
``storage.py`` (users and groups read through ScimLink, written through the directory services),
``filters.py`` (the filter tree as a Django query), ``schemas.py`` (what is read, what is
published), ``views.py`` (the token, the request's savepoint, the note for the console) and
``tokens.py``.
"""
