"""Coverage-guided fuzzing (atheris, libFuzzer) of the one way registry files
are read: bytes -> yamlio.load -> schema.validate -> the typed document.

The first byte picks the kind (Model, ModelVersion, RegistryConfig,
StagePointer); the rest is the file. Any exception other than
InvalidDocumentError is a bug, and so is a document that is accepted but
does not come back unchanged after being written and read again. Run on
demand, not in CI (from the repository root):

    python3 -m venv fuzz/.venv && fuzz/.venv/bin/pip install -q atheris -e .
    fuzz/.venv/bin/python fuzz/fuzz_loader.py fuzz/corpus -max_total_time=600

New inputs that reach new code are added to fuzz/corpus; a crash is written
to crash-<hash> in the current folder (replay: fuzz_loader.py crash-<hash>).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    # the loader's own modules before gitreg.documents.manifest, which would otherwise load them lazily, uninstrumented
    import jsonschema.validators  # noqa: F401
    import referencing  # noqa: F401
    import yaml  # noqa: F401

    import gitreg.documents.schema
    import gitreg.documents.yamlio  # noqa: F401
    from gitreg.documents import manifest
    from gitreg.documents.manifest import Model, ModelVersion, RegistryConfig, StagePointer
    from gitreg.errors import InvalidDocumentError

KINDS = (Model, ModelVersion, RegistryConfig, StagePointer)


def test_one(data: bytes) -> None:
    if not data:
        return
    kind = KINDS[data[0] % len(KINDS)]
    try:
        document = manifest.parse(data[1:], kind, "fuzz.yaml")
    except InvalidDocumentError:
        return
    written = manifest.render(document, "fuzz.yaml")
    again = manifest.parse(written, kind, "fuzz.yaml")
    if again != document or manifest.render(again, "fuzz.yaml") != written:
        raise AssertionError(f"{kind.KIND} does not round-trip:\n{data[1:]!r}\n->\n{written!r}")


def main() -> None:
    atheris.Setup(sys.argv, test_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
