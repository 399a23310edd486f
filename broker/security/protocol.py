"""Kafka admin requests aiokafka lacks or only sends one at a time, over its admin connection.

* CreateAcls / DeleteAcls v1 carrying many entries per request (aiokafka's own
  request classes carry one).
* DescribeUserScramCredentials (API 50) and AlterUserScramCredentials (API 51),
  version 0, which aiokafka does not define; schemas from Kafka's
  ``clients/src/main/resources/common/message/*.json`` (flexible versions).

Requests go through ``AIOKafkaAdminClient._send_request`` (a private method: the
public admin API has no ACL or SCRAM calls). Brokers forward these to the KRaft
controller.
"""

# aiokafka ships no type information, so its protocol base classes are `Any` to mypy.
# mypy: disable-error-code="misc"

from __future__ import annotations

from typing import Any

from aiokafka.protocol.admin import (
    CreateAclsRequest_v1,
    DeleteAclsRequest_v1,
    DescribeAclsRequest_v1,
)
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

__all__ = [
    "AclEntry",
    "AlterScramRequest",
    "CreateAclsBatch",
    "DeleteAclsBatch",
    "DescribeAclsAll",
    "DescribeScramRequest",
    "ScramDeletion",
    "ScramUpsertion",
    "send",
]

# (resource_type, resource_name, pattern_type, principal, host, operation, permission)
AclEntry = tuple[int, str, int, str, str, int, int]
# (name, mechanism)
ScramDeletion = tuple[str, int]
# (name, mechanism, iterations, salt, salted_password)
ScramUpsertion = tuple[str, int, int, bytes, bytes]

_ANY = 1  # ResourceType.ANY, PatternType.ANY, AclOperation.ANY, AclPermissionType.ANY


class CreateAclsBatch(Request[CreateAclsRequest_v1]):
    """CreateAcls v1 with every entry in one request."""

    API_KEY = 30

    def __init__(self, entries: list[AclEntry]) -> None:
        self._entries = entries

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(list(self._entries))


class DeleteAclsBatch(Request[DeleteAclsRequest_v1]):
    """DeleteAcls v1 with one exact filter per binding to remove."""

    API_KEY = 31

    def __init__(self, entries: list[AclEntry]) -> None:
        self._entries = entries

    def build(self, request_struct_class: type[DeleteAclsRequest_v1]) -> DeleteAclsRequest_v1:
        return request_struct_class(list(self._entries))


class DescribeAclsAll(Request[DescribeAclsRequest_v1]):
    """DescribeAcls v1 matching every ACL on the cluster."""

    API_KEY = 29

    def build(self, request_struct_class: type[DescribeAclsRequest_v1]) -> DescribeAclsRequest_v1:
        return request_struct_class(_ANY, None, _ANY, None, None, _ANY, _ANY)


class DescribeUserScramCredentialsResponse_v0(Response):
    API_KEY = 50
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("error_message", CompactString("utf-8")),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                (
                    "credential_infos",
                    CompactArray(
                        ("mechanism", Int8), ("iterations", Int32), ("tags", TaggedFields)
                    ),
                ),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class DescribeUserScramCredentialsRequest_v0(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = 50
    API_VERSION = 0
    RESPONSE_TYPE = DescribeUserScramCredentialsResponse_v0
    SCHEMA = Schema(
        ("users", CompactArray(("name", CompactString("utf-8")), ("tags", TaggedFields))),
        ("tags", TaggedFields),
    )


class DescribeScramRequest(Request[DescribeUserScramCredentialsRequest_v0]):
    """Describe the SCRAM credentials of every user (a null user list means all)."""

    API_KEY = 50

    def build(
        self, request_struct_class: type[DescribeUserScramCredentialsRequest_v0]
    ) -> DescribeUserScramCredentialsRequest_v0:
        return request_struct_class(None, {})


class AlterUserScramCredentialsResponse_v0(Response):
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class AlterUserScramCredentialsRequest_v0(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = AlterUserScramCredentialsResponse_v0
    SCHEMA = Schema(
        (
            "deletions",
            CompactArray(
                ("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)
            ),
        ),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class AlterScramRequest(Request[AlterUserScramCredentialsRequest_v0]):
    """Create, replace or delete SCRAM credentials in one request."""

    API_KEY = 51

    def __init__(self, deletions: list[ScramDeletion], upsertions: list[ScramUpsertion]) -> None:
        self._deletions = deletions
        self._upsertions = upsertions

    def build(
        self, request_struct_class: type[AlterUserScramCredentialsRequest_v0]
    ) -> AlterUserScramCredentialsRequest_v0:
        return request_struct_class(
            [(name, mech, {}) for name, mech in self._deletions],
            [(n, m, it, salt, salted, {}) for n, m, it, salt, salted in self._upsertions],
            {},
        )


async def send(admin: Any, request: Request[Any]) -> Any:
    """Send ``request`` with a started ``AIOKafkaAdminClient`` and return the response."""
    return await admin._send_request(request)
