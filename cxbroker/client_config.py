"""Client configurations for other Kafka tools, from a principal's profile.

``cxbroker access client-config --profile P --format properties|librdkafka`` prints what
a Java client (``kafka-console-consumer --consumer.config``), kcat/librdkafka or
confluent-kafka needs to reach the cluster as principal ``P``: bootstrap address, security
protocol, SCRAM credentials and the CA to trust.
"""

from __future__ import annotations

from enum import StrEnum

from broker.settings import SecurityProtocol, Settings

__all__ = ["ClientFormat", "client_config"]


class ClientFormat(StrEnum):
    """Which client library's property names."""

    #: Java clients (``--consumer.config``/``--producer.config``/``--command-config``).
    PROPERTIES = "properties"
    #: librdkafka: kcat ``-F``, confluent-kafka's ``Consumer({...})`` keys.
    LIBRDKAFKA = "librdkafka"


def _quoted(value: str) -> str:
    # JAAS string literal; SCRAM user names and generated passwords hold no quotes.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def client_config(settings: Settings, fmt: ClientFormat) -> list[tuple[str, str]]:
    """The ``key=value`` pairs of ``settings`` (resolved) for the client library ``fmt``."""
    protocol = settings.security_protocol
    pairs = [("bootstrap.servers", settings.resolved_bootstrap())]
    sasl = protocol in (SecurityProtocol.SASL_PLAINTEXT, SecurityProtocol.SASL_SSL)
    tls = protocol in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL)
    password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
    username = settings.sasl_username or ""
    if fmt is ClientFormat.PROPERTIES:
        pairs.append(("security.protocol", protocol.value))
        if sasl:
            pairs.append(("sasl.mechanism", settings.sasl_mechanism))
            pairs.append(
                (
                    "sasl.jaas.config",
                    "org.apache.kafka.common.security.scram.ScramLoginModule required "
                    f"username={_quoted(username)} password={_quoted(password)};",
                )
            )
        if tls and settings.ca_file is not None:
            pairs.append(("ssl.truststore.type", "PEM"))
            pairs.append(("ssl.truststore.location", str(settings.ca_file)))
        return pairs
    pairs.append(("security.protocol", protocol.value.lower()))
    if sasl:
        pairs.append(("sasl.mechanisms", settings.sasl_mechanism))
        pairs.append(("sasl.username", username))
        pairs.append(("sasl.password", password))
    if tls and settings.ca_file is not None:
        pairs.append(("ssl.ca.location", str(settings.ca_file)))
    return pairs
