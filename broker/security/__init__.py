"""Kafka-enforced security: TLS material, SCRAM credentials, the access plan and its ACLs.

* :mod:`broker.security.tls` - a local CA and broker certificate (``cryptography``).
* :mod:`broker.security.credentials` - per-principal SCRAM credentials, 0600 files.
* :mod:`broker.security.profile` - ``Settings(profile=...)`` / ``CX_PROFILE``.
* :mod:`broker.security.plan` - ``broker/access.toml`` as data, expanded to ACLs.
* :mod:`broker.security.apply` - make the cluster match the plan (idempotent).
* :mod:`broker.security.errors` - Kafka refusals as :class:`~broker.errors.AccessDenied`.

Kafka is imported lazily, so importing this package stays cheap.
"""

from broker.errors import InvalidAccessPlan, UnknownProfile
from broker.security.acls import AclBinding
from broker.security.credentials import Credential
from broker.security.errors import access_denied_from, denied_as, is_access_error
from broker.security.plan import AccessPlan, expand_plan, load_plan

__all__ = [
    "AccessPlan",
    "AclBinding",
    "Credential",
    "InvalidAccessPlan",
    "UnknownProfile",
    "access_denied_from",
    "denied_as",
    "expand_plan",
    "is_access_error",
    "load_plan",
]
