"""Where each registry file lives (DESIGN.md §1)."""

from __future__ import annotations

CONFIG_PATH = ".gitreg/config.yaml"
DVC_CONFIG_PATH = ".dvc/config"
DVC_GITIGNORE_PATH = ".dvc/.gitignore"
DVCIGNORE_PATH = ".dvcignore"
YAML_SUFFIX = ".yaml"


def model_dir(models_dir: str, model: str) -> str:
    return f"{models_dir}/{model}"


def model_path(models_dir: str, model: str) -> str:
    return f"{models_dir}/{model}/model.yaml"


def versions_dir(models_dir: str, model: str) -> str:
    return f"{models_dir}/{model}/versions"


def version_path(models_dir: str, model: str, version: str) -> str:
    return f"{models_dir}/{model}/versions/{version}{YAML_SUFFIX}"


def stages_dir(models_dir: str, model: str) -> str:
    return f"{models_dir}/{model}/stages"


def stage_path(models_dir: str, model: str, stage: str) -> str:
    return f"{models_dir}/{model}/stages/{stage}{YAML_SUFFIX}"
