"""Time gitreg commands as whole processes on a generated registry, next to
GTO and MLflow's model registry on registries of the same size.

    python benchmarks/run.py [--models 200] [--versions 25] [--repeat 7] [--peers] [--out FILE]

Each command runs once to warm up, then REPEAT times; the table gives the
median, min and max wall time, and the issue's target for the two sizes it
names. The first rows are floors to read the others against (Python
starting, Python importing click, git listing the models folder): a shared
machine's speed can drift by half from hour to hour. The warm-up leaves the
documents read in gitreg's memo of parsed documents; the "no memo" rows time
the same reads with GITREG_PARSE_MEMO=0, as on a clone read for the first
time. `--peers` also builds (once, in benchmarks/.peers, not the project's
environment) a virtualenv with gto and mlflow, and times the comparable
commands: gto on a copy of the same git repository (its tags are the ones
gitreg writes), MLflow on a SQLite registry with the same models, versions
and stage aliases. The last rows time `resolve` in one long-running
process (gitreg's Python API; MLflow's client), warm.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate
from report import emit

from gitreg.documents import yamlio

HERE = Path(__file__).resolve().parent
# the gitreg installed beside this Python (the project's venv), else the one on PATH
_BESIDE = Path(sys.executable).parent / "gitreg"
GITREG = str(_BESIDE) if _BESIDE.exists() else shutil.which("gitreg") or "gitreg"
PEERS = HERE / ".peers"
PEER_PACKAGES = ["gto==1.10.1", "mlflow==3.17.2"]

# the targets in seconds: {(models, versions): {operation: bound}}
TARGETS = {
    (200, 25): {
        "--help": 0.15,
        "list": 0.3,
        "show": 0.25,
        "resolve": 0.2,
        "register": 0.6,
        "promote": 0.6,
        "check --base": 0.5,
        "check --base signed": 0.5,
        "check": 3.0,
        "warm resolve": 0.001,
    },
    (1000, 100): {
        "list": 1.0,
        "show": 0.3,
        "resolve": 0.25,
        "register": 1.0,
        "promote": 1.0,
        "check --base": 1.0,
        "check --base signed": 0.5,
        "check": 30.0,
        "warm resolve": 0.001,
    },
}


def timed(
    make: Callable[[int], Sequence[str]], repeat: int, env: dict[str, str] | None = None, warm_up: bool = True
) -> list[float]:
    """Wall times of ``make(i)`` as a process, runs 1..repeat (run 0 warms
    caches; without ``warm_up`` every run counts)."""
    samples = []
    for i in range(0 if warm_up else 1, repeat + 1):
        argv = list(make(i))
        start = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace').strip()[-500:]}")
        if i:
            samples.append(elapsed)
    return samples


def version_for(i: int, versions: int) -> str:
    v = i % versions
    return f"1.{v // 10}.{v % 10}"


def ours(root: Path, models: int, versions: int, repeat: int, tmp: Path) -> dict[str, list[float]]:
    reg = ["-R", str(root)]
    model = f"model-{min(7, models - 1):04d}"
    artifact = tmp / "model.bin"
    artifact.write_bytes(os.urandom(1024 * 1024))

    def fresh_artifact(i: int) -> list[str]:
        with artifact.open("r+b") as f:
            f.write(i.to_bytes(8, "little"))
        return [GITREG, "register", model, "-a", str(artifact), "--metric", "auc=0.9", *reg]

    # one promotion on a branch, as a pull request would bring it
    base = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    other = f"model-{min(3, models - 1):04d}"
    subprocess.run(
        [GITREG, "promote", other, version_for(0, versions), "--to", "staging", "--branch", "bench-promotion", *reg],
        check=True,
        capture_output=True,
    )
    signed_base, signed_head = signed_promotion(root, models, tmp, artifact)
    unremembered = dict(os.environ, GITREG_PARSE_MEMO="0")
    results = {
        # floors, to read the rest against: this machine's speed varies from hour to hour
        "python": timed(lambda i: [sys.executable, "-c", "pass"], repeat),
        "click": timed(lambda i: [sys.executable, "-c", "import click"], repeat),
        "ls-tree": timed(lambda i: ["git", "-C", str(root), "ls-tree", "-r", "-z", "HEAD:models"], repeat),
        "--help": timed(lambda i: [GITREG, "--help"], repeat),
        "list": timed(lambda i: [GITREG, "list", *reg], repeat),
        "show": timed(lambda i: [GITREG, "show", model, *reg], repeat),
        "resolve": timed(lambda i: [GITREG, "resolve", f"{model}@production", *reg], repeat),
        "status": timed(lambda i: [GITREG, "status", model, *reg], repeat),
        # the same reads parsing every document (a registry read for the first time)
        "list, no memo": timed(lambda i: [GITREG, "list", *reg], repeat, unremembered),
        "show, no memo": timed(lambda i: [GITREG, "show", model, *reg], repeat, unremembered),
        "resolve, no memo": timed(lambda i: [GITREG, "resolve", f"{model}@production", *reg], repeat, unremembered),
        "check --base": timed(
            lambda i: [GITREG, "check", "--base", base.stdout.strip(), "--head", "bench-promotion", *reg], repeat
        ),
        "check --base signed": timed(
            lambda i: [GITREG, "check", "--base", signed_base, "--head", signed_head, *reg], repeat
        ),
        "check": timed(lambda i: [GITREG, "check", *reg], max(1, repeat // 3)),
        "register": timed(fresh_artifact, repeat),
        "promote": timed(
            lambda i: [GITREG, "promote", model, version_for(i, versions), "--to", "staging", *reg], repeat
        ),
    }
    code = (
        "import sys, time, gitreg\n"
        "reg = gitreg.open_registry(sys.argv[1]); ref = sys.argv[2]\n"
        "gitreg.resolve(ref, registry=reg)\n"
        "samples = []\n"
        "for _ in range(2000):\n"
        "    t = time.perf_counter(); gitreg.resolve(ref, registry=reg); samples.append(time.perf_counter() - t)\n"
        "print(*samples)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(root), f"{model}@production"], capture_output=True, text=True, check=True
    )
    results["warm resolve"] = [float(x) for x in out.stdout.split()]
    return results


def signed_promotion(root: Path, models: int, tmp: Path, artifact: Path) -> tuple[str, str]:
    """A model whose staging requires a signature by a key (made here), a
    version registered and signed, and its promotion on a branch: (base, head)."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = tmp / "bench-signing.key"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    model = f"model-{min(5, models - 1):04d}"
    reg = ["-R", str(root)]
    out = subprocess.run(
        [GITREG, "register", model, "-a", str(artifact), "--sign", f"key:{private}", "--json", *reg],
        capture_output=True,
        text=True,
        check=True,
    )
    version = json.loads(out.stdout)["version"]
    (root / ".gitreg" / "keys").mkdir(exist_ok=True)
    (root / ".gitreg" / "keys" / "bench.pub").write_bytes(public)
    path = root / "models" / model / "model.yaml"
    doc = yamlio.load(path.read_bytes(), str(path))
    doc["require_signature"] = {"staging": {"keys": [".gitreg/keys/bench.pub"]}}
    path.write_text(yamlio.dump(doc))
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", "bench: staging requires a signature"], check=True)
    base = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    subprocess.run(
        [GITREG, "promote", model, version, "--to", "staging", "--branch", "bench-signed", *reg],
        check=True,
        capture_output=True,
    )
    return base.stdout.strip(), "bench-signed"


# -- peers ------------------------------------------------------------------------


def peer_python() -> Path:
    python = PEERS / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
    have = subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True, check=True).stdout.lower()
    if any(p.lower() not in have for p in PEER_PACKAGES):
        subprocess.run([python, "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
    return python


def gto(root: Path, models: int, versions: int, repeat: int, tmp: Path, python: Path) -> dict[str, list[float]]:
    """gto on a copy of the registry (gto writes its own tags into it)."""
    repo = tmp / "gto-repo"
    shutil.copytree(root, repo, symlinks=True)
    exe = str(python.parent / "gto")
    model = f"model-{min(7, models - 1):04d}"

    def new_commit(i: int) -> list[str]:  # gto allows one version of a model per commit
        subprocess.run(["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", f"bench {i}"], check=True)
        return [exe, "register", model, "--repo", str(repo)]

    def assign(i: int) -> list[str]:
        version = f"v{version_for(i, versions)}"
        return [exe, "assign", model, "--version", version, "--stage", "staging", "--repo", str(repo), "--force"]

    return {
        "list": timed(lambda i: [exe, "show", "--repo", str(repo)], repeat, warm_up=False),
        "show": timed(lambda i: [exe, "show", model, "--repo", str(repo)], repeat, warm_up=False),
        "register": timed(new_commit, repeat, warm_up=False),
        "promote": timed(assign, repeat, warm_up=False),
    }


MLFLOW_BUILD = """
import sys
from mlflow import MlflowClient
models, versions = int(sys.argv[1]), int(sys.argv[2])
client = MlflowClient()
for m in range(models):
    name = f"model-{m:04d}"
    client.create_registered_model(name, description=f"benchmark model {m}")
    for v in range(versions):
        client.create_model_version(name, source=f"file:///bench/{name}/{v}", tags={"team": "bench"})
    client.set_registered_model_alias(name, "staging", str(versions))
    client.set_registered_model_alias(name, "production", str(max(1, versions - 1)))
"""

MLFLOW_LIST = """
token, names = None, []
while True:  # pages of at most 1,000, as the store allows
    page = c.search_registered_models(max_results=1000, page_token=token)
    names += [m.name for m in page]
    token = page.token
    if not token:
        break
"""

MLFLOW_WARM = """
import sys, time
from mlflow import MlflowClient
client = MlflowClient()
client.get_model_version_by_alias(sys.argv[1], "production")
samples = []
for _ in range(500):
    t = time.perf_counter(); client.get_model_version_by_alias(sys.argv[1], "production")
    samples.append(time.perf_counter() - t)
print(*samples)
"""


def mlflow(models: int, versions: int, repeat: int, tmp: Path, python: Path) -> dict[str, list[float]]:
    db = tmp / "mlflow.db"
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{db}", MLFLOW_REGISTRY_URI=f"sqlite:///{db}")
    env["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    subprocess.run([python, "-c", MLFLOW_BUILD, str(models), str(versions)], env=env, check=True, capture_output=True)
    model = f"model-{min(7, models - 1):04d}"
    prelude = "from mlflow import MlflowClient\nc = MlflowClient()\n"

    def one(code: str) -> Callable[[int], list[str]]:
        return lambda i: [str(python), "-c", prelude + code.replace("{i}", str(i))]

    results = {
        "list": timed(one(MLFLOW_LIST), repeat, env),
        "show": timed(
            one(f"c.get_registered_model('{model}'); list(c.search_model_versions(\"name='{model}'\"))"), repeat, env
        ),
        "resolve": timed(one(f"c.get_model_version_by_alias('{model}', 'production')"), repeat, env),
        "register": timed(one(f"c.create_model_version('{model}', source='file:///bench/new/{{i}}')"), repeat, env),
        "promote": timed(
            one(f"c.set_registered_model_alias('{model}', 'staging', str(1 + {{i}} % {versions}))"), repeat, env
        ),
    }
    out = subprocess.run([python, "-c", MLFLOW_WARM, model], env=env, capture_output=True, text=True, check=True)
    results["warm resolve"] = [float(x) for x in out.stdout.split()]
    return results


# -- the table --------------------------------------------------------------------

NAMES = {
    "python": "floor: Python starts (`python -c pass`)",
    "click": "floor: Python starts and imports click, the CLI framework",
    "ls-tree": "floor: `git ls-tree -r` of the models folder (what a first listing must read)",
    "--help": "`gitreg --help`",
    "list": "`gitreg list` / `gto show` / `search_registered_models`",
    "show": "`gitreg show MODEL` / `gto show MODEL` / `get_registered_model` + versions",
    "resolve": "`gitreg resolve MODEL@production` / `get_model_version_by_alias`",
    "status": "`gitreg status MODEL` (holders, recommendations: deploy's ranking per stage)",
    "list, no memo": "`gitreg list`, every document parsed (`GITREG_PARSE_MEMO=0`)",
    "show, no memo": "`gitreg show MODEL`, every document parsed",
    "resolve, no memo": "`gitreg resolve MODEL@production`, every document parsed",
    "register": "`gitreg register` (1 MiB, local remote) / `gto register` / `create_model_version`",
    "promote": "`gitreg promote` / `gto assign` / `set_registered_model_alias`",
    "check --base": "`gitreg check --base` (one promotion)",
    "check --base signed": "`gitreg check --base` (one promotion to a stage that requires a signature)",
    "check": "`gitreg check` (whole tree)",
    "warm resolve": "in-process warm `resolve` (Python API / MLflow client)",
}


def _s(samples: list[float] | None) -> str:
    if not samples:
        return "-"
    median = statistics.median(samples)
    return f"{median * 1000:.3f} ms" if median < 0.01 else f"{median:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--versions", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--peers", action="store_true", help="also time gto and MLflow (builds benchmarks/.peers)")
    parser.add_argument("--gto-repeat", type=int, default=1, help="runs of each gto command (minutes each at 200 x 25)")
    parser.add_argument(
        "--reuse-peers", action="store_true", help="use the peers' timings saved by an earlier run of this size"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # time commands as installed: bytecode cached
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "gitreg")], check=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gitreg-bench-") as tmp_name:
        tmp = Path(tmp_name)
        root = generate(tmp / "registry", args.models, args.versions)
        built = time.perf_counter() - started
        peers: dict[str, dict[str, list[float]]] = {}
        if args.peers:  # before ours: they run on the registry as generated
            python = peer_python()
            saved = PEERS / f"results-{args.models}x{args.versions}.json"  # gto takes minutes: keep what was measured
            peers = json.loads(saved.read_text()) if args.reuse_peers and saved.exists() else {}
            if "gto" not in peers:
                peers["gto"] = gto(root, args.models, args.versions, args.gto_repeat, tmp, python)
                saved.write_text(json.dumps(peers))
            if "mlflow" not in peers:
                peers["mlflow"] = mlflow(args.models, args.versions, args.repeat, tmp, python)
                saved.write_text(json.dumps(peers))
        mine = ours(root, args.models, args.versions, args.repeat, tmp)
    targets = TARGETS.get((args.models, args.versions), {})
    headers = ["operation", "gitreg median (s)", "min", "max", "target"]
    if peers:
        headers += ["gto (s)", "gto ÷ gitreg", "MLflow (s)", "MLflow ÷ gitreg"]
    rows = []
    for op, samples in mine.items():
        median = statistics.median(samples)
        target = targets.get(op.partition(",")[0])
        verdict = "-" if target is None else f"≤ {target:g} {'✅' if median <= target else '❌'}"
        row = [NAMES[op], _s(samples), _s([min(samples)]), _s([max(samples)]), verdict]
        if peers:
            for peer in ("gto", "mlflow"):
                theirs = peers[peer].get(op)
                ratio = f"{statistics.median(theirs) / median:.0f}×" if theirs else "-"
                row += [_s(theirs), ratio]
        rows.append(row)
    emit(
        f"Registry: {args.models} models × {args.versions} versions ({args.models * args.versions:,} versions, "
        f"generated in {built:.0f} s); whole processes, {args.repeat} runs after a warm-up (`check`: "
        f"{max(1, args.repeat // 3)}); {os.cpu_count()} cores; Python {sys.version.split()[0]}"
        + (
            f"; gto 1.10.1 ({args.gto_repeat} run(s) of each command, no warm-up) and MLflow 3.17.2 "
            f"(SQLite; {args.repeat} runs after a warm-up) in benchmarks/.peers"
            if peers
            else ""
        )
        + ".",
        headers,
        rows,
        args.out,
    )


if __name__ == "__main__":
    main()
