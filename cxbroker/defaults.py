"""The resource names the long-running commands use by default.

Each falls inside the access plan's grants (``broker/access.toml``) of the principal that
runs the command, under the deployment's ``CX_TOPIC_PREFIX`` like every topic: a command run
with its defaults under its own principal is allowed everything it does
(``cxbroker access check`` verifies it against the cluster's ACLs).
"""

from __future__ import annotations

from typing import Final

__all__ = ["JOINER_GROUP", "JOINER_INSTANCE"]

#: ``cxbroker join --group``: the joiner's consumer group; its transactional id is
#: ``<group>.<instance>`` (the plan grants the joiner ``cx.joiner*`` for both).
JOINER_GROUP: Final = "cx.joiner"
#: ``cxbroker join --instance``.
JOINER_INSTANCE: Final = "0"
