"""The labelled free-text corpus: current, large and varied enough, and fully recalled."""

from __future__ import annotations

import json

from bench.privacy import measure
from bench.privacy_corpus import CORPUS, build
from producers.deid.words import SAFE_WORDS_FILE, build_safe_words
from tests.support.paths import REPO


def _items() -> list[dict[str, object]]:
    return [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line]


def test_the_corpus_file_is_what_the_generator_makes() -> None:
    assert _items() == json.loads(json.dumps(build(), ensure_ascii=False))


def test_the_corpus_covers_every_family_and_several_languages() -> None:
    items = _items()
    assert len(items) >= 500
    kinds = {span[2] for item in items for span in item["spans"]}  # type: ignore[attr-defined]
    assert {"name", "relative", "employer", "ssn", "phone", "date", "address", "number",
            "email", "url", "ip", "encoded", "zip"} <= kinds  # fmt: skip
    texts = " ".join(str(item["text"]) for item in items)
    for sample in ("oficina", "电话", "Tôi", "انتظرت"):
        assert sample in texts


def test_every_labelled_identifier_is_scrubbed() -> None:
    figures = measure(_items())
    assert figures["misses"] == []
    assert figures["recall"] == 1.0


def test_the_allow_list_file_is_current() -> None:
    path = REPO / "producers" / "deid" / "data" / SAFE_WORDS_FILE
    assert path.read_text("utf-8").split() == build_safe_words()
