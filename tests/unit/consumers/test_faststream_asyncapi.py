"""The AsyncAPI document FastStream generates for a CX app agrees with `contracts export`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from faststream.specification import AsyncAPI

from broker.settings import SecurityProtocol, Settings
from consumers.faststream import cx_broker, cx_security, insights_subscriber, joined_subscriber
from contracts.catalog import load_catalog
from contracts.export import asyncapi_document
from contracts.insights import InsightCell, InsightRelease
from contracts.joined import JourneySnapshot


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with every ``#/components/schemas`` reference replaced by its target, and
    titles, descriptions and the export's ``x-cx-*`` and ``$id`` marks left out."""
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[1]]
        return _inline({**target, **{k: v for k, v in node.items() if k != "$ref"}}, defs)
    dropped = {"title", "description", "$schema", "$id"}
    return {
        k: _inline(v, defs)
        for k, v in node.items()
        if k not in dropped and not k.startswith("x-cx")
    }


def _app_document(tmp_path: Path) -> dict[str, Any]:
    settings = Settings(bootstrap_servers="localhost:9092", keyring_dir=tmp_path)
    broker = cx_broker(settings)
    for le in load_catalog().life_experiences:

        @joined_subscriber(broker, le.id, settings=settings)
        async def on_journey(snapshot: JourneySnapshot) -> None: ...

        @insights_subscriber(broker, le.id, settings=settings)
        async def on_insight(item: InsightCell | InsightRelease) -> None: ...

    document = AsyncAPI(broker, schema_version="3.0.0").to_specification().to_jsonable()
    assert isinstance(document, dict)
    return document


def test_faststream_asyncapi_agrees_with_the_exported_document(tmp_path: Path) -> None:
    generated = _app_document(tmp_path)
    exported = asyncapi_document()
    ours = exported["components"]["schemas"]
    theirs = generated["components"]["schemas"]
    catalog = load_catalog()

    # Channels: FastStream's are exactly the joined and insights topics the export lists.
    addresses = {c["address"] for c in generated["channels"].values()}
    expected = {le.joined_topic for le in catalog.life_experiences} | {
        le.insights_topic for le in catalog.life_experiences
    }
    assert addresses == expected
    assert expected <= {c["address"] for c in exported["channels"].values()}

    # Messages: the payload schema FastStream derives from the handler's type is the
    # exported contract schema of the current version.
    snapshot_schema = _inline(ours["journey-snapshot-1_0_0"], ours)
    cell_schema = _inline(
        ours[f"insight-cell-{InsightCell.contract_version.replace('.', '_')}"], ours
    )
    release_schema = _inline(ours["insight-release-1_0_0"], ours)
    seen = {"joined": 0, "insights": 0}
    for message in generated["components"]["messages"].values():
        payload = _inline(message["payload"], theirs)
        if message["title"].startswith("cx.joined."):
            assert payload == snapshot_schema
            seen["joined"] += 1
        else:
            assert message["title"].startswith("cx.insights.")
            assert payload == {"anyOf": [cell_schema, release_schema]}
            seen["insights"] += 1
    assert seen == {
        "joined": len(catalog.life_experiences),
        "insights": len(catalog.life_experiences),
    }


def test_security_follows_the_cx_settings(tmp_path: Path) -> None:
    plain = Settings(bootstrap_servers="localhost:9092", keyring_dir=tmp_path)
    assert cx_security(plain) is None
    secured = Settings(
        bootstrap_servers="localhost:9093",
        keyring_dir=tmp_path,
        security_protocol=SecurityProtocol.SASL_PLAINTEXT,
        sasl_username="team-analytics",
        sasl_password="not-a-real-password",
    )
    security = cx_security(secured)
    assert type(security).__name__ == "SASLScram512"
    assert security is not None and not security.use_ssl
