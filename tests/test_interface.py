"""What a deploy needs to know: I/O signatures, input examples, the training
environment, gates on them, and load_model, through the CLI and the API."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from gitreg import api
from gitreg.errors import ArtifactError, NotFoundError, UsageError
from gitreg.operations.lifecycle import GateFailed
from tests.conftest import Cli, git, init_with_origin, state
from tests.helpers import check, messages, onnx_model, path, pointer, pr

SIGNATURE = {
    "inputs": [{"name": "amount", "dtype": "double"}, {"name": "country", "dtype": "string", "required": False}],
    "outputs": [{"name": "score", "dtype": "float64", "shape": [None]}],
}
MLMODEL = """\
flavors:
  python_function: {loader_module: mlflow.sklearn}
signature:
  inputs: '[{"type": "double", "name": "amount", "required": true},
    {"type": "string", "name": "country", "required": false}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]'
  params: null
"""


def _write(folder: Path, name: str, text: str) -> Path:
    file = folder / name
    file.write_text(text)
    return file


def _show(reg: Path, cli: Cli, ref: str) -> dict[str, Any]:
    return json.loads(cli("show", ref, "--json", "-R", reg).stdout)


def test_register_with_signature_and_input_example_from_the_cli(registry: Path, artifact: Path, cli: Cli) -> None:
    sig = _write(artifact.parent, "signature.json", json.dumps(SIGNATURE))
    example = _write(artifact.parent, "example.csv", "amount,country\n12.5,DE\n80.0,FR\n")
    cli("register", "fraud", "-a", artifact, "--signature", sig, "--input-example", example, "-R", registry)
    doc = _show(registry, cli, "fraud@1.0.0")
    assert doc["signature"] == SIGNATURE
    entry = doc["input_example"]
    data = example.read_bytes()
    assert entry["path"] == "input_example.csv" and entry["format"] == "csv" and entry["size"] == len(data)
    assert entry["inputs"] == ["amount", "country"] and entry["rows"] == 2
    import hashlib

    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["md5"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    # the example is in the DVC remote beside the model: verify --remote re-reads both
    verified = json.loads(cli("verify", "fraud@1.0.0", "--remote", "--json", "-R", registry).stdout)
    assert verified and all(v["ok"] for v in verified), verified
    loaded = api.load_input_example("fraud@1.0.0", registry=registry)
    assert list(loaded.columns) == ["amount", "country"] and loaded["amount"].tolist() == [12.5, 80.0]
    # the example's object gone from the remote: verify says so
    stored = next(registry.parent.rglob(f"files/md5/{entry['md5'][:2]}/{entry['md5'][2:]}"))
    stored.unlink()
    verified = json.loads(cli("verify", "fraud@1.0.0", "--json", "-R", registry, code=1).stdout)
    assert not verified[0]["ok"] and entry["md5"] in json.dumps(verified[0]["problems"])


def test_an_mlflow_signature_file_is_read_into_the_same_form(registry: Path, artifact: Path, cli: Cli) -> None:
    mlmodel = _write(artifact.parent, "MLmodel", MLMODEL)
    cli("register", "fraud", "-a", artifact, "--signature", mlmodel, "-R", registry)
    expected = SIGNATURE | {"outputs": [{"name": "0", "dtype": "float64", "shape": [None]}]}
    assert _show(registry, cli, "fraud@1.0.0")["signature"] == expected


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"signature.json": '{"inputs": [{"name": "a"}]}'}, "needs a dtype"),
        ({"signature.json": '{"inputs": [{"name": "a", "dtype": "double"}, {"name": "a", "dtype": "long"}]}'}, "twice"),
        ({"signature.json": '{"inputs": [{"name": "a", "dtype": "decimal"}]}'}, "is not one of"),
        ({"signature.json": '{"inputs": [{"name": "a", "dtype": "f4", "shape": [-2]}]}'}, "is not a size"),
        ({"signature.json": '{"input": []}'}, "unknown key"),
        ({"signature.json": "[1, 2]"}, "expected a mapping"),
        ({"signature.json": json.dumps({"inputs": "[" * 100_000})}, "inputs: not JSON (nested too deeply)"),
        ({"signature.json": json.dumps(SIGNATURE), "example.csv": "amount,zip\n1,2\n"}, "does not take"),
        ({"signature.json": json.dumps(SIGNATURE), "example.csv": "country\nDE\n"}, "lacks required input"),
        ({"example.pkl": "x"}, "use a .json, .csv, .npy or .npz file"),
        ({"example.json": "{not json"}, "not a json example"),
        ({"example.json": '{"inputs": [[1, 2], [3]]}'}, "ragged"),
        ({"example.csv": "a,b\n1\n"}, "each row must have 2 fields"),
        ({"example.json": "[" * 100_000 + "]" * 100_000}, "nested too deeply"),
        ({"example.csv": "a\n" + "x" * 200_000 + "\n"}, "not a csv example"),
        ({"example.csv": ",".join(f"c{i}" for i in range(5000)) + "\n"}, "more than 4096 inputs"),
    ],
)
def test_bad_signatures_and_examples_are_refused_in_one_line(
    registry: Path, artifact: Path, cli: Cli, files: dict[str, str], message: str
) -> None:
    args: list[str | Path] = []
    for name, text in files.items():
        option = "--signature" if name.startswith("signature") else "--input-example"
        args += [option, _write(artifact.parent, name, text)]
    before = state(registry)
    result = cli("register", "fraud", "-a", artifact, *args, "-R", registry, code=2)
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert state(registry) == before


def test_an_npy_example_that_needs_pickle_is_refused(registry: Path, artifact: Path, cli: Cli) -> None:
    file = artifact.parent / "example.npy"
    np.save(file, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    result = cli("register", "fraud", "-a", artifact, "--input-example", file, "-R", registry, code=2)
    assert "Python objects (pickled)" in result.stderr


def test_a_signature_is_inferred_from_a_dataframe_and_from_arrays(registry: Path, artifact: Path) -> None:
    frame = pd.DataFrame(
        {"amount": [1.5, 2.0], "count": np.array([1, 2], dtype="int32"), "country": ["DE", None], "ok": [True, False]}
    )
    api.register("fraud", artifact, input_example=frame, output_example=np.array([0.1, 0.9]), registry=registry)
    v = api.show("fraud@1.0.0", registry=registry)
    assert v.signature == {
        "inputs": [
            {"name": "amount", "dtype": "double"},
            {"name": "count", "dtype": "integer"},
            {"name": "country", "dtype": "string", "required": False},
            {"name": "ok", "dtype": "boolean"},
        ],
        "outputs": [{"name": "0", "dtype": "float64", "shape": [None]}],
    }
    assert v.input_example is not None and v.input_example.format == "json" and v.input_example.rows == 2
    assert api.load_input_example("fraud@1.0.0", registry=registry)["amount"].tolist() == [1.5, 2.0]

    api.register("fraud", artifact, input_example=np.zeros((5, 3), dtype="float32"), registry=registry)
    v = api.show("fraud@1.0.1", registry=registry)
    assert v.signature == {"inputs": [{"name": "0", "dtype": "float32", "shape": [None, 3]}]}
    assert v.input_example is not None and v.input_example.format == "npy" and v.input_example.rows == 5
    loaded = api.load_input_example("fraud@1.0.1", registry=registry)
    assert loaded.dtype == np.float32 and loaded.shape == (5, 3)

    arrays = {"ids": np.arange(4, dtype="int64"), "x": np.ones((4, 2), dtype="float64")}
    api.register("fraud", artifact, input_example=arrays, registry=registry)
    v = api.show("fraud@1.0.2", registry=registry)
    assert v.signature == {
        "inputs": [
            {"name": "ids", "dtype": "int64", "shape": [None]},
            {"name": "x", "dtype": "float64", "shape": [None, 2]},
        ]
    }
    assert set(api.load_input_example("fraud@1.0.2", registry=registry)) == {"ids", "x"}


def test_an_mlflow_model_signature_object_is_taken(registry: Path, artifact: Path) -> None:
    from mlflow.models import infer_signature

    frame = pd.DataFrame({"amount": [1.5], "country": ["DE"]})
    api.register("fraud", artifact, signature=infer_signature(frame, np.array([0.2])), registry=registry)
    assert api.show("fraud@1.0.0", registry=registry).signature == {
        "inputs": [{"name": "amount", "dtype": "double"}, {"name": "country", "dtype": "string"}],
        "outputs": [{"name": "0", "dtype": "float64", "shape": [None]}],
    }
    with pytest.raises(UsageError, match="a int is no signature"):
        api.register("fraud", artifact, signature=3, registry=registry)  # type: ignore[arg-type]


def test_an_example_that_does_not_fit_the_given_signature_is_refused(registry: Path, artifact: Path) -> None:
    signature = {"inputs": [{"name": "x", "dtype": "float32", "shape": [-1, 4]}]}
    with pytest.raises(UsageError, match=r"has shape \[2, 3\], the signature says float32\[\?,4\]"):
        api.register("fraud", artifact, signature=signature, input_example=np.zeros((2, 3)), registry=registry)
    assert api.list_models(registry=registry) == []


# -- environment ------------------------------------------------------------------


def test_environment_is_captured_from_the_interpreter_that_registers(registry: Path, artifact: Path) -> None:
    """A venv the test makes, with a distribution of its own: the manifest
    names it, with that interpreter's Python and platform."""
    venv = artifact.parent / "train-env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "gitreg-host.pth").write_text(sysconfig.get_paths()["purelib"] + "\n" + str(Path.cwd()) + "\n")
    info = site / "trainlib-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: trainlib\nVersion: 1.2.3\n")
    script = (
        "import gitreg, sys; "
        f"v = gitreg.register('fraud', {str(artifact)!r}, registry={str(registry)!r}); "
        "print(sys.prefix)"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [python, "-c", script], capture_output=True, text=True, check=False, cwd=root, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(venv)
    env = api.show("fraud@1.0.0", registry=registry).environment
    assert env is not None and env["source"] == "interpreter"
    assert "trainlib==1.2.3" in env["requirements"]
    assert env["python"] == ".".join(map(str, sys.version_info[:3])) and env["implementation"] == "CPython"
    assert env["platform"]
    text = api.environment_file("fraud@1.0.0", registry=registry)
    assert "trainlib==1.2.3\n" in text and text.startswith("# fraud-1.0.0: Python ")
    conda = yaml.safe_load(api.environment_file("fraud@1.0.0", format="conda", registry=registry))
    assert conda["dependencies"][0] == f"python={env['python']}"
    assert "trainlib==1.2.3" in conda["dependencies"][-1]["pip"]


def test_environment_from_requirements_and_conda_files(registry: Path, artifact: Path, cli: Cli) -> None:
    req = _write(
        artifact.parent,
        "requirements.txt",
        "# pinned\nnumpy==2.1.0  # math\n--extra-index-url https://bob:s3cret@pypi.example.com/simple\n\nscikit-learn==1.5.0\n",
    )
    cli("register", "fraud", "-a", artifact, "--requirements", req, "-R", registry)
    env = _show(registry, cli, "fraud@1.0.0")["environment"]
    assert env == {
        "source": "requirements",
        "requirements": ["numpy==2.1.0", "--extra-index-url https://pypi.example.com/simple", "scikit-learn==1.5.0"],
    }
    conda = _write(
        artifact.parent,
        "environment.yml",
        "name: train\nchannels: [conda-forge]\ndependencies:\n  - python=3.11.9\n  - numpy=2.2.0\n"
        "  - pip\n  - pip:\n    - scikit-learn==1.6.0\nprefix: /home/alice/miniconda/envs/train\n",
    )
    cli("register", "fraud", "-a", artifact, "--conda", conda, "-R", registry)
    env = _show(registry, cli, "fraud@1.0.1")["environment"]
    assert env["python"] == "3.11.9" and "prefix" not in env["conda"]
    assert cli("env", "fraud@1.0.1", "--format", "conda", "-R", registry).stdout.startswith("name: train\n")
    assert "scikit-learn==1.6.0\n" in cli("env", "fraud@1.0.1", "-R", registry).stdout
    # show and compare: what changed between the two
    shown = cli("show", "fraud@1.0.1", "-R", registry).stdout
    assert "# environment differs from 1.0.0:" in shown and "~ scikit-learn 1.5.0 -> 1.6.0" in shown
    yaml.safe_load(shown)  # the notes are comments: the text stays the manifest
    compared = json.loads(cli("compare", "fraud", "1.0.0", "1.0.1", "--json", "-R", registry).stdout)
    found = {d["name"]: (d["before"], d["after"]) for d in compared["environment_differences"]["1.0.1"]}
    assert found["scikit-learn"] == ("1.5.0", "1.6.0") and found["numpy"] == ("2.1.0", "2.2.0")
    assert found["python"] == (None, "3.11.9")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("requirements.txt", "-r other.txt\n", "includes another file"),
        ("requirements.txt", "# nothing\n", "lists no requirements"),
        ("environment.yml", "name: x\n", "dependencies list"),
        ("environment.yml", "dependencies: [python=3.11]\nvariables: {TOKEN: x}\n", "unknown key 'variables'"),
    ],
)
def test_bad_environment_files_are_refused(
    registry: Path, artifact: Path, cli: Cli, name: str, text: str, message: str
) -> None:
    option = "--requirements" if name.endswith(".txt") else "--conda"
    before = state(registry)
    file = _write(artifact.parent, name, text)
    result = cli("register", "fraud", "-a", artifact, option, file, "-R", registry, code=2)
    assert message in result.stderr and state(registry) == before


def test_no_environment_and_env_of_a_version_without_one(registry: Path, artifact: Path, cli: Cli) -> None:
    cli("register", "fraud", "-a", artifact, "--no-environment", "-R", registry)
    assert "environment" not in _show(registry, cli, "fraud@1.0.0")
    result = cli("env", "fraud@1.0.0", "-R", registry, code=1)
    assert "records no environment" in result.stderr


# -- gates and compare ------------------------------------------------------------


def _two_signatures(registry: Path, artifact: Path) -> None:
    api.register("fraud", artifact, signature=SIGNATURE, registry=registry)
    retyped = {"inputs": [{"name": "amount", "dtype": "long"}, {"name": "country", "dtype": "string"}]}
    api.register("fraud", artifact, signature=retyped, registry=registry)
    api.register("fraud", artifact, registry=registry, environment=False)


def test_require_signature_and_input_example_gates(registry: Path, artifact: Path) -> None:
    _two_signatures(registry, artifact)
    api.set_model("fraud", gates={"staging": {"require_signature": True}}, registry=registry)
    with pytest.raises(GateFailed, match="declares no I/O signature"):
        api.promote("fraud", "1.0.2", to="staging", registry=registry)
    api.promote("fraud", "1.0.0", to="staging", registry=registry)
    api.set_model("fraud", gates={"production": {"require_input_example": True}}, registry=registry)
    with pytest.raises(GateFailed, match="declares no input example"):
        api.promote("fraud", "1.0.0", to="production", registry=registry)


def test_signature_compatible_refuses_a_breaking_promotion(registry: Path, artifact: Path, cli: Cli) -> None:
    _two_signatures(registry, artifact)
    api.set_model("fraud", gates={"staging": {"signature_compatible": True}}, registry=registry)
    api.promote("fraud", "1.0.0", to="staging", registry=registry)  # no holder: nothing to break
    before = state(registry)
    result = cli("promote", "fraud", "1.0.1", "--to", "staging", "-R", registry, code=1)
    assert "signature_compatible" in result.stdout + result.stderr
    assert "inputs 'amount': double -> long" in result.stdout + result.stderr
    assert state(registry) == before
    compared = json.loads(cli("compare", "fraud", "staging", "1.0.1", "--json", "-R", registry).stdout)
    assert compared["signature_breaking"] == ["1.0.1"] and compared["stages"] == {"1.0.0": "staging"}
    changes = {c["name"]: c for c in compared["signature_changes"]["1.0.1"]}
    assert changes["amount"]["breaking"] and changes["country"]["breaking"]  # optional became required
    assert "BREAKING for callers of 1.0.0" in cli("compare", "fraud", "staging", "1.0.1", "-R", registry).stdout
    with pytest.raises(GateFailed, match="the candidate declares no input schema"):
        api.promote("fraud", "1.0.2", to="staging", registry=registry)


def _breaking_pair_pushed(folder: Path, artifact: Path) -> Path:
    registry = init_with_origin(folder)
    _two_signatures(registry, artifact)
    widened = {"inputs": [*SIGNATURE["inputs"], {"name": "channel", "dtype": "string", "required": False}]}
    api.register("fraud", artifact, signature=widened, registry=registry)
    api.set_model("fraud", gates={"staging": {"signature_compatible": True}}, registry=registry)
    api.promote("fraud", "1.0.0", to="staging", registry=registry)
    git(registry, "push", "-q", "-u", "origin", "main", "--tags")
    return registry


def test_check_base_refuses_a_breaking_pointer_move_and_passes_a_compatible_one(
    tmp_path: Path, artifact: Path, cli: Cli
) -> None:
    reg = _breaking_pair_pushed(tmp_path, artifact)
    pr(reg, "breaking", lambda r: pointer(r, "staging", "1.0.1"))
    found = messages(check(reg, cli, 1))
    assert any("signature_compatible" in m and "double -> long" in m for m in found), found
    git(reg, "checkout", "-q", "main")
    pr(reg, "widening", lambda r: pointer(r, "staging", "1.0.3"))  # adds an optional input: compatible
    assert check(reg, cli, 0)["ok"] is True


def test_the_checker_validates_signatures_in_a_pull_request(tmp_path: Path, artifact: Path, cli: Cli) -> None:
    reg = _breaking_pair_pushed(tmp_path, artifact)

    def duplicate(r: Path) -> None:
        file = path(r, "fraud", "versions", "1.0.4.yaml")
        doc = yaml.safe_load(path(r, "fraud", "versions", "1.0.0.yaml").read_text()) | {"version": "1.0.4"}
        doc["signature"]["inputs"].append({"name": "amount", "dtype": "string"})
        file.write_text(yaml.safe_dump(doc))

    pr(reg, "dup", duplicate)
    assert any("appears twice in inputs" in m for m in messages(check(reg, cli, 1)))

    def misfit_example(r: Path) -> None:  # a record claiming inputs the signature does not take
        file = path(r, "fraud", "versions", "1.0.4.yaml")
        doc = yaml.safe_load(path(r, "fraud", "versions", "1.0.0.yaml").read_text()) | {"version": "1.0.4"}
        hashes = {"hash": "md5", "md5": "a" * 32, "sha256": "b" * 64}
        record = {"path": "input_example.csv", **hashes, "size": 9, "remote": "storage", "format": "csv"}
        doc["input_example"] = record | {"inputs": ["zip"], "rows": 1}
        file.write_text(yaml.safe_dump(doc))

    git(reg, "checkout", "-q", "main")
    pr(reg, "misfit", misfit_example)
    found = messages(check(reg, cli, 1))
    assert any("/input_example/inputs: the example has 'zip', which the signature does not take" in m for m in found)


# -- load_model ----------------------------------------------------------------------


def test_load_model_runs_an_onnx_model_on_its_input_example(registry: Path, artifact: Path, cli: Cli) -> None:
    file = artifact.parent / "linear.onnx"
    w, b = onnx_model(file)
    example = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    api.register("linear", file, input_example={"x": example}, output_example={"y": example @ w + b}, registry=registry)
    api.promote("linear", "1.0.0", to="staging", registry=registry)
    model = api.load_model("linear@staging", registry=registry)
    loaded = api.load_input_example("linear@staging", registry=registry)
    np.testing.assert_allclose(model.predict(loaded), example @ w + b, rtol=1e-6)
    # a JSON example keeps no dtype: the signature's (float32) is applied on load
    declared = {"inputs": [{"name": "x", "dtype": "float32", "shape": [-1, 3]}]}
    sig = _write(artifact.parent, "sig.json", json.dumps(declared))
    ex = _write(artifact.parent, "example.json", json.dumps({"inputs": example.tolist()}))
    cli("register", "linear", "-a", file, "--signature", sig, "--input-example", ex, "-R", registry)
    loaded = api.load_input_example("linear@1.0.1", registry=registry)
    assert loaded.dtype == np.float32
    np.testing.assert_allclose(api.load_model("linear@1.0.1", registry=registry).predict(loaded), example @ w + b)


def test_load_model_reads_safetensors_json_and_text(registry: Path, artifact: Path) -> None:
    from safetensors.numpy import save_file

    weights = artifact.parent / "weights.safetensors"
    save_file({"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, str(weights))
    config = _write(artifact.parent, "config.json", '{"threshold": 0.7}')
    vocab = _write(artifact.parent, "vocab.txt", "a\nb\n")
    for name, file in (("weights", weights), ("config", config), ("vocab", vocab)):
        api.register(name, file, registry=registry)
    assert api.load_model("weights@latest", registry=registry)["w"].shape == (2, 3)
    assert api.load_model("config@latest", registry=registry) == {"threshold": 0.7}
    assert api.load_model("vocab@latest", registry=registry) == "a\nb\n"
    folder = artifact.parent / "bundle"  # a model file with its configuration: the model file is loaded
    folder.mkdir()
    save_file({"w": np.zeros(2, dtype=np.float32)}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text("{}")
    (folder / "requirements.txt").write_text("numpy\n")
    api.register("bundle", folder, registry=registry)
    assert set(api.load_model("bundle@latest", registry=registry)) == {"w"}
    with pytest.raises(UsageError, match="unknown flavor"):
        api.load_model("vocab@latest", flavor="tensorflow", registry=registry)


class _Marker:
    """Unpickling this creates a file: proof that code from the artifact ran."""

    def __init__(self, where: Path) -> None:
        self.where = where

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.where,))


def test_a_pickle_is_refused_unless_trusted_and_only_loaded_after_its_hashes(registry: Path, artifact: Path) -> None:
    marker = artifact.parent / "code-ran"
    model = artifact.parent / "model.pkl"
    model.write_bytes(pickle.dumps(_Marker(marker)))
    api.register("fraud", model, registry=registry)
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "gitreg"
    with pytest.raises(UsageError, match="loading it runs code from the artifact"):
        api.load_model("fraud@latest", registry=registry)
    assert not marker.exists() and not (cache / "artifacts").exists()  # refused before any download
    api.load_model("fraud@latest", trust_pickle=True, registry=registry)
    assert marker.exists()
    marker.unlink()
    # a cached copy changed since: re-hashed, refused, nothing unpickled
    cached = next((cache / "artifacts").rglob("model.pkl"))
    cached.write_bytes(pickle.dumps(_Marker(marker)) + b" ")
    with pytest.raises(ArtifactError, match="sha256 mismatch"):
        api.load_model("fraud@latest", trust_pickle=True, registry=registry)
    assert not marker.exists()


def test_load_input_example_of_a_version_without_one(registry: Path, artifact: Path, cli: Cli) -> None:
    api.register("fraud", artifact, registry=registry)
    with pytest.raises(NotFoundError, match="has no input example"):
        api.load_input_example("fraud@1.0.0", registry=registry)
    result = cli("pull", "fraud@1.0.0", "--input-example", "-o", artifact.parent / "x", "-R", registry, code=1)
    assert result.stderr == "gitreg: error: fraud 1.0.0 has no input example\n"
    assert not (artifact.parent / "x").exists()


# -- export and import ------------------------------------------------------------


def test_signature_example_and_environment_round_trip_through_export_and_import(
    registry: Path, artifact: Path, tmp_path: Path
) -> None:
    frame = pd.DataFrame({"amount": [1.0, 2.0], "country": ["DE", "FR"]})
    api.register("fraud", artifact, input_example=frame, registry=registry)
    exported = tmp_path / "export.json"
    api.export_registry(output=exported, registry=registry)
    other = tmp_path / "other"
    api.init(other)
    api.import_registry(exported, registry=other)
    mine, theirs = api.show("fraud@1.0.0", registry=registry), api.show("fraud@1.0.0", registry=other)
    assert mine.signature == theirs.signature and mine.environment == theirs.environment
    assert mine.input_example is not None and theirs.input_example is not None
    assert theirs.input_example.artifact.sha256 == mine.input_example.artifact.sha256
    assert theirs.input_example.artifact.remote == "storage"
    pd.testing.assert_frame_equal(api.load_input_example("fraud@1.0.0", registry=other), frame)
    assert all(v.ok for v in api.verify("fraud", remote=True, registry=other))


def test_an_mlflow_model_folder_is_read_for_its_example_and_environment_and_never_outside_it(tmp_path: Path) -> None:
    from gitreg.operations.from_mlflow import described

    folder = tmp_path / "model"
    folder.mkdir()
    secret = tmp_path / "secret.json"
    secret.write_text('{"columns": ["amount"], "data": [[1.0]]}')
    (folder / "link.json").symlink_to(secret)
    for name in ("../secret.json", "link.json", str(secret)):
        (folder / "MLmodel").write_text(MLMODEL + f"saved_input_example_info: {{artifact_path: {json.dumps(name)}}}\n")
        found = described(folder)
        assert found.example is None and found.example_path is None, name
        assert any("not in the artifact" in n for n in found.notes), found.notes
    (folder / "MLmodel").write_text(MLMODEL + "saved_input_example_info: {artifact_path: example.json}\n")
    (folder / "example.json").write_text('{"columns": ["zip"], "data": [["1"]]}')
    found = described(folder)
    assert found.example is None and found.example_path == "example.json"
    assert any("does not fit its signature" in n for n in found.notes)
    (folder / "conda.yaml").write_text("dependencies: [python=3.10.4, {pip: [mlflow==3.1.0]}]\n")
    assert described(folder).environment == {
        "source": "conda",
        "conda": {"dependencies": ["python=3.10.4", {"pip": ["mlflow==3.1.0"]}]},
        "python": "3.10.4",
    }


def test_the_site_shows_the_signature_example_and_environment_escaped(registry: Path, artifact: Path) -> None:
    hostile = "<script>alert(1)</script>"
    signature = {"inputs": [{"name": hostile, "dtype": "double"}]}
    req = _write(artifact.parent, "requirements.txt", "numpy==2.1.0\nscikit-learn==1.5.0\n")
    example = _write(artifact.parent, "example.json", json.dumps({"columns": [hostile], "data": [[1.0]]}))
    cli = Cli()
    sig = _write(artifact.parent, "sig.json", json.dumps(signature))
    cli("register", "fraud", "-a", artifact, "--signature", sig, "--input-example", example, "--requirements", req,
        "-R", registry)  # fmt: skip
    out = artifact.parent / "site"
    api.build_site(out, registry=registry)
    page = (out / "models" / "fraud" / "versions" / "1.0.0.html").read_text()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<td>inputs</td>" in page and "<code>double</code>" in page
    assert "input_example.json" in page and "<code>scikit-learn==1.5.0</code>" in page and "2 packages" in page


def test_gc_removes_an_example_no_version_uses_and_keeps_a_shared_one(registry: Path, artifact: Path) -> None:
    shared, own = (_write(artifact.parent, f"{n}.csv", f"amount\n{n}\n") for n in ("1", "2"))
    api.register("fraud", artifact, input_example=str(own), registry=registry)
    api.register("fraud", artifact, input_example=str(shared), registry=registry)
    api.register("fraud", artifact, input_example=str(shared), registry=registry)
    doomed = api.show("fraud@1.0.0", registry=registry).input_example
    kept = api.show("fraud@1.0.1", registry=registry).input_example
    assert doomed is not None and kept is not None
    config = registry / ".gitreg" / "config.yaml"
    config.write_text(config.read_text() + "retention:\n  max_versions: 1\n")
    git(registry, "commit", "-qam", "retention policy")
    done = api.gc(remove_artifacts=True, registry=registry)
    assert sorted(done.removed) == [("fraud", "1.0.0"), ("fraud", "1.0.1")]
    assert doomed.artifact.md5 in done.artifacts_removed and kept.artifact.md5 in done.artifacts_shared
    assert all(v.ok for v in api.verify("fraud", remote=True, registry=registry))
