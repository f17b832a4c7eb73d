"""Where each registry file lives (docs/design.md §1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CONFIG_DIR = ".gitreg"
CONFIG_PATH = ".gitreg/config.yaml"
DVC_CONFIG_PATH = ".dvc/config"
DVC_GITIGNORE_PATH = ".dvc/.gitignore"
DVCIGNORE_PATH = ".dvcignore"
YAML_SUFFIX = ".yaml"
DVC_SUFFIX = ".dvc"


@dataclass(frozen=True)
class RegistryPath:
    """What a path under ``models_dir`` is: a model's model.yaml, a version
    file, a stage pointer, or something that does not belong there."""

    kind: Literal["model", "version", "stage", "dvc", "signature", "unexpected"]
    model: str
    name: str = ""  # the version or stage its file name gives (a signature: its version's)
    file: str = ""  # a signature's file name


MODEL_FILES = ("model.yaml", "versions", "stages", "signatures")  # what a model's folder holds
SIGNATURE_SUFFIX = ".sig"


def split_model(relative: str) -> tuple[str, str]:
    """(model, the rest) of a path relative to ``models_dir``: a folder's
    own files (``MODEL_FILES``) make it a model's, else it is a namespace
    and the next part names the model (``NAMESPACE/NAME``)."""
    first, _, rest = relative.partition("/")
    head = rest.partition("/")[0]
    if not rest or head in MODEL_FILES:
        return first, rest
    second, _, rest = rest.partition("/")
    return f"{first}/{second}", rest


def classify(models_dir: str, path: str) -> RegistryPath | None:
    """None for paths outside ``models_dir``."""
    prefix = models_dir + "/"
    if not path.startswith(prefix):
        return None
    model, rest = split_model(path[len(prefix) :])
    if rest == "model.yaml":
        return RegistryPath("model", model)
    folder, _, file = rest.partition("/")
    if folder in ("versions", "stages") and "/" not in file and file.endswith(YAML_SUFFIX):
        return RegistryPath("version" if folder == "versions" else "stage", model, file[: -len(YAML_SUFFIX)])
    if folder == "versions" and "/" not in file and file.endswith(DVC_SUFFIX):
        return RegistryPath("dvc", model, file[: -len(DVC_SUFFIX)])
    version, _, name = file.partition("/")
    if folder == "signatures" and version and "/" not in name and name.endswith(SIGNATURE_SUFFIX):
        return RegistryPath("signature", model, version, name)
    return RegistryPath("unexpected", model)


def model_dir(models_dir: str, model: str) -> str:
    return f"{models_dir}/{model}"


def model_path(models_dir: str, model: str) -> str:
    return f"{models_dir}/{model}/model.yaml"


def versions_dir(models_dir: str, model: str) -> str:
    return f"{models_dir}/{model}/versions"


def version_path(models_dir: str, model: str, version: str) -> str:
    return f"{models_dir}/{model}/versions/{version}{YAML_SUFFIX}"


def dvc_path(models_dir: str, model: str, version: str) -> str:
    """The version's DVC pointer: a ``.dvc`` file beside its manifest, so DVC
    (``dvc gc``, ``dvc get``, ``dvc import``) knows its artifact."""
    return f"{models_dir}/{model}/versions/{version}{DVC_SUFFIX}"


def stages_dir(models_dir: str, model: str) -> str:
    return f"{models_dir}/{model}/stages"


def stage_path(models_dir: str, model: str, stage: str) -> str:
    return f"{models_dir}/{model}/stages/{stage}{YAML_SUFFIX}"


def signatures_dir(models_dir: str, model: str, version: str) -> str:
    """A version's OMS signature bundles, each named by its bytes' SHA-256
    (``signature_name``): append-only."""
    return f"{models_dir}/{model}/signatures/{version}"


def signature_name(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()[:32] + SIGNATURE_SUFFIX
