"""Accounts, roles and who may do what (the policy used by every write).

``roles``      the roles and the acting user (:class:`~layers.accounts.roles.Actor`)
``policy``     the one table of which role may take which action, in which district
``model``      the account record and the rules of its fields
``service``    local accounts (argon2 hashes) and web sessions over the store
``passwords``  Argon2id hashing with bounded concurrency
``tokens``     this deployment's access tokens (HS256 JWTs) and its signing key
``oidc``       bearer tokens of an OpenID Connect issuer (Keycloak) mapped to actors
``throttle``   back-off after failed logins
"""
