"""A use of a version (kind ``Usage``): who pulled which model or dataset
version, when, from where and what for — ``pull --record-usage``, kept on
``refs/gitreg/usage/<model>`` (``core.records``), one commit per use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitreg.documents import manifest
from gitreg.documents.manifest import API_VERSION
from gitreg.documents.names import Quoted

FILE = "usage.yaml"


def ref(model: str) -> str:
    return f"refs/gitreg/usage/{model}"


@dataclass(frozen=True)
class Usage:
    model: str
    version: str
    at: str
    by: str
    ref: str = ""
    host: str = ""
    purpose: str = ""

    KIND = "Usage"

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Usage:
        return cls(
            doc["model"],
            doc["version"],
            doc["at"],
            doc["by"],
            doc.get("ref", ""),
            doc.get("host", ""),
            doc.get("purpose", ""),
        )

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": self.KIND,
            "model": self.model,
            "version": Quoted(self.version),
            "at": self.at,
            "by": self.by,
        }
        doc |= {key: value for key in ("ref", "host", "purpose") if (value := getattr(self, key))}
        return doc


def render(use: Usage) -> bytes:
    return manifest.render(use, f"{ref(use.model)}:{FILE}")  # type: ignore[arg-type]


def parse(data: bytes, source: str) -> Usage:
    found: Usage = manifest.parse(data, Usage, source)
    return found
