"""Fetch Apache Kafka's jars once with Maven into a cache outside git.

The pinned versions live in ``broker/kafka/pom.xml``; ``mvn -C`` makes a bad
checksum fail the fetch instead of caching a corrupt jar.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import xml.etree.ElementTree as ET
from importlib.resources import files
from pathlib import Path

from broker.errors import KafkaLaunchError, MissingTool

__all__ = ["KAFKA_VERSION", "ensure_jars", "java_executable", "pom_path"]

_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def pom_path() -> Path:
    """The packaged pom.xml that pins Kafka and log4j."""
    return Path(str(files("broker.kafka").joinpath("pom.xml")))


def _kafka_version() -> str:
    root = ET.parse(pom_path()).getroot()  # noqa: S314 - our own packaged file
    node = root.find("m:properties/m:kafka.version", _POM_NS)
    if node is None or not node.text:
        raise KafkaLaunchError(f"{pom_path()} does not pin kafka.version")
    return node.text.strip()


KAFKA_VERSION = _kafka_version()


def java_executable() -> str:
    """Path of a Java 17+ runtime, or :class:`MissingTool` saying what to install."""
    java = shutil.which("java")
    if java is None:
        raise MissingTool("Java 17 is required to run Kafka: install OpenJDK 17 (openjdk-17-jre)")
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    text = out.stderr + out.stdout
    major = _java_major(text)
    if major is None or major < 17:
        raise MissingTool(
            f"Java 17 or newer is required to run Kafka (found: {text.splitlines()[0:1]}): "
            "install OpenJDK 17"
        )
    return java


def _java_major(version_text: str) -> int | None:
    for token in version_text.replace('"', " ").split():
        head = token.split(".")[0].split("-")[0]
        if head.isdigit() and "." in token:
            major = int(head)
            if major == 1:  # 1.8.0_x style
                return int(token.split(".")[1])
            return major
    return None


def ensure_jars(cache_dir: Path, *, quiet: bool = True) -> Path:
    """Return the directory holding Kafka's runtime jars, fetching them with Maven if needed.

    The directory name includes a digest of the pom, so changing a pinned
    version fetches a fresh set instead of mixing jars.
    """
    pom = pom_path()
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:12]
    target = cache_dir / f"kafka-{KAFKA_VERSION}-{digest}"
    marker = target / ".complete"
    if marker.exists():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MissingTool(
            "Maven is required to fetch Kafka's jars: install maven (apt-get install maven)"
        )
    java_executable()
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    cmd = [
        mvn,
        "-B",
        "-C",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={partial}",
        "-DincludeScope=runtime",
    ]
    if quiet:
        cmd.insert(1, "-q")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise KafkaLaunchError(f"Maven could not fetch Kafka {KAFKA_VERSION}:\n{tail}")
    jars = list(partial.glob("*.jar"))
    if not any(j.name.startswith("kafka_2.13-") for j in jars):
        raise KafkaLaunchError(f"Maven fetched no kafka_2.13 jar into {partial}")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    marker.write_text(f"{len(jars)} jars for Kafka {KAFKA_VERSION}\n")
    return target
