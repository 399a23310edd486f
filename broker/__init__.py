"""The ground producers and consumers stand on: settings, local Kafka, provisioning, keys.

``Settings`` is plain configuration read from ``CX_*`` variables; :func:`load_settings`
also completes it from the state dir (the local cluster's address, a profile's
credential). See :mod:`broker.kafka` (local Apache Kafka), :mod:`broker.provision` (topic
and access plans), :mod:`broker.lag`, :mod:`broker.keyring` and :mod:`broker.security`.
"""

from broker.security.profile import load_settings, resolve_settings
from broker.settings import SecurityProtocol, Settings

__all__ = ["SecurityProtocol", "Settings", "load_settings", "resolve_settings"]
