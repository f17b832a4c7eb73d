"""Signed models: OMS signatures made with real keys and a real certificate
chain (openssl), committed beside the manifest, and a stage's
``require_signature`` policy enforced by `promote` and by `gitreg check
--base` from the bundle alone."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gitreg import api
from gitreg.documents import layout, yamlio
from gitreg.errors import ArtifactError
from tests.conftest import Cli, git, init_with_origin, state
from tests.helpers import check, messages, pointer, pr

OPENSSL_CONFIG = """[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
[leaf]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
subjectAltName = email:release@example.com
"""


def openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """release.key/.pub and other.key/.pub (P-256), a CA (ca.key, ca.pem)
    and a signing certificate it issued to release@example.com (leaf.key,
    leaf.pem), and a second CA that issued nothing here (rogue-ca.pem)."""
    folder = tmp_path_factory.mktemp("keys")
    (folder / "openssl.cnf").write_text(OPENSSL_CONFIG)
    for name in ("release", "other", "leaf", "ca", "rogue-ca"):
        openssl(folder, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key")
        openssl(folder, "ec", "-in", f"{name}.key", "-pubout", "-out", f"{name}.pub")
    for ca in ("ca", "rogue-ca"):
        openssl(
            folder, "req", "-x509", "-new", "-key", f"{ca}.key", "-subj", f"/CN={ca}", "-days", "30",
            "-config", "openssl.cnf", "-extensions", "ca", "-out", f"{ca}.pem",
        )  # fmt: skip
    openssl(
        folder, "req", "-new", "-key", "leaf.key", "-subj", "/CN=release", "-config", "openssl.cnf", "-out", "l.csr"
    )
    openssl(
        folder, "x509", "-req", "-in", "l.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "10",
        "-extfile", "openssl.cnf", "-extensions", "leaf", "-out", "leaf.pem",
    )  # fmt: skip
    return folder


@pytest.fixture
def signed_registry(tmp_path: Path, artifact: Path, keys: Path) -> Path:
    """fraud 1.0.0 and 1.0.1 (files) and bert 1.0.0 (a folder), pushed;
    staging requires a signature by release.pub, production one by a
    certificate ca.pem issued to release@example.com."""
    registry = init_with_origin(tmp_path)
    api.register("fraud", artifact, registry=registry)
    artifact.write_bytes(b"other weights" * 100)
    api.register("fraud", artifact, registry=registry)
    folder = tmp_path / "bert"
    (folder / "tok").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"w" * 5000)
    (folder / "tok" / "vocab.txt").write_text("a\nb\n")
    api.register("bert", folder, registry=registry)
    (registry / ".gitreg" / "keys").mkdir()
    shutil.copy(keys / "release.pub", registry / ".gitreg" / "keys" / "release.pub")
    shutil.copy(keys / "ca.pem", registry / ".gitreg" / "keys" / "ca.pem")
    policy = {
        "staging": {"keys": [".gitreg/keys/release.pub"]},
        "production": {"certificates": [".gitreg/keys/ca.pem"], "identities": ["release@example.com"]},
    }
    for model in ("fraud", "bert"):
        path = registry / "models" / model / "model.yaml"
        doc = yamlio.load(path.read_text(), str(path))
        doc["require_signature"] = policy
        path.write_text(yamlio.dump(doc))
    git(registry, "add", "-A")
    git(registry, "commit", "-qm", "require signatures")
    git(registry, "push", "-q", "-u", "origin", "main", "--tags")
    return registry


def bundles(registry: Path, model: str, version: str) -> list[Path]:
    return sorted((registry / "models" / model / "signatures" / version).glob("*.sig"))


def test_a_key_signature_admits_a_version_where_it_is_required(signed_registry: Path, keys: Path, cli: Cli) -> None:
    reg = signed_registry
    refused = cli("promote", "fraud", "1.0.0", "--to", "staging", "-R", reg, code=1).stderr
    assert refused == (
        "gitreg: error: promotion of fraud 1.0.0 to staging refused: require_signature: the version has no signature\n"
    )
    out = cli("sign", "fraud", "1.0.0", f"key:{keys / 'release.key'}", "-R", reg).stdout
    [bundle] = bundles(reg, "fraud", "1.0.0")
    assert out.startswith("Signed fraud 1.0.0 by key ") and bundle.name == layout.signature_name(bundle.read_bytes())
    assert git(reg, "log", "-1", "--format=%(trailers:key=Gitreg-Action,valueonly)").strip() == "sign"
    # the bundle is model_signing's own: its verifier reads it against the pulled bytes
    pulled = api.pull("fraud@1.0.0", output=reg.parent / "pulled.pkl", registry=reg)
    from model_signing import verifying

    verifying.Config().use_elliptic_key_verifier(public_key=keys / "release.pub").verify(pulled, bundle)
    moved = json.loads(cli("promote", "fraud", "1.0.0", "--to", "staging", "--json", "-R", reg).stdout)
    gate = next(g for g in moved["gates"] if g["gate"] == "require_signature")
    assert gate["passed"] and gate["reason"].startswith("signed by key ")


def test_wrong_signers_and_wrong_bytes_are_refused_with_a_reason(signed_registry: Path, keys: Path, cli: Cli) -> None:
    reg = signed_registry
    cli("sign", "fraud", "1.0.1", f"key:{keys / 'other.key'}", "-R", reg)
    refused = cli("promote", "fraud", "1.0.1", "--to", "staging", "-R", reg, code=1).stderr
    assert "no valid signature by an allowed signer: " in refused and "not an allowed one" in refused
    cli("sign", "fraud", "1.0.1", f"key:{keys / 'release.key'}", "-R", reg)
    cli("promote", "fraud", "1.0.1", "--to", "staging", "-R", reg)
    # production trusts a certificate authority, not keys
    refused = cli("promote", "fraud", "1.0.1", "--to", "production", "-R", reg, code=1).stderr
    assert "signed with a key, and the policy trusts no" not in refused
    assert "signed with a key, and the policy allows no key" in refused
    cli("sign", "fraud", "1.0.1", f"certificate:{keys / 'leaf.pem'},{keys / 'leaf.key'},{keys / 'ca.pem'}", "-R", reg)
    cli("promote", "fraud", "1.0.1", "--to", "production", "-R", reg)
    # a signature of 1.0.1's bytes, copied by hand to 1.0.0, covers other bytes
    target = reg / "models" / "fraud" / "signatures" / "1.0.0"
    for bundle in bundles(reg, "fraud", "1.0.1"):
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(bundle, target / bundle.name)
    git(reg, "add", "-A")
    git(reg, "commit", "-qm", "signatures of 1.0.1 copied to 1.0.0")
    refused = cli("promote", "fraud", "1.0.0", "--to", "staging", "-R", reg, code=1).stderr
    assert "the signature covers other bytes" in refused and refused.count("\n") == 1


def test_check_base_judges_a_pull_request_by_the_base_policy(signed_registry: Path, keys: Path, cli: Cli) -> None:
    """A change that brings the signature and the promotion together passes;
    one that promotes unsigned while dropping the policy fails (the base's
    policy judges); a tampered bundle is named."""
    reg = signed_registry
    key = f"key:{keys / 'release.key'}"

    def signed_and_promoted(r: Path) -> None:
        api.sign("fraud", "1.0.0", key, registry=r)
        git(r, "reset", "-q", "--soft", "HEAD~1")
        pointer(r, "staging", "1.0.0")

    pr(reg, "signed", signed_and_promoted)
    check(reg, cli, 0)
    git(reg, "checkout", "-q", "main")

    def unsigned(r: Path) -> None:
        pointer(r, "staging", "1.0.1")
        model = r / "models" / "fraud" / "model.yaml"
        doc = yamlio.load(model.read_text(), str(model))
        del doc["require_signature"]
        model.write_text(yamlio.dump(doc))

    pr(reg, "unsigned", unsigned)
    found = messages(check(reg, cli, 1))
    assert any("fails gate require_signature for staging: the version has no signature" in m for m in found), found
    git(reg, "checkout", "-q", "main")

    def tampered(r: Path) -> None:
        api.sign("fraud", "1.0.1", key, registry=r)
        git(r, "reset", "-q", "--soft", "HEAD~1")
        [bundle] = bundles(r, "fraud", "1.0.1")
        doc = json.loads(bundle.read_bytes())
        statement = json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))
        statement["predicate"]["resources"][0]["digest"] = "0" * 64
        doc["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
        data = json.dumps(doc).encode()
        bundle.unlink()
        (bundle.parent / layout.signature_name(data)).write_bytes(data)
        pointer(r, "staging", "1.0.1")

    pr(reg, "tampered", tampered)
    found = messages(check(reg, cli, 1))
    assert any("the statement's subject digest is not that of its files: altered" in m for m in found), found
    git(reg, "checkout", "-q", "main")


def test_signatures_are_append_only(signed_registry: Path, keys: Path, cli: Cli) -> None:
    reg = signed_registry
    api.sign("fraud", "1.0.0", f"key:{keys / 'release.key'}", registry=reg)
    git(reg, "push", "-q", "origin", "main")
    [bundle] = bundles(reg, "fraud", "1.0.0")
    pr(reg, "removed", lambda r: bundle.unlink())
    assert any("a signature is never changed or removed" in m for m in messages(check(reg, cli, 1)))
    git(reg, "checkout", "-q", "main")
    pr(reg, "changed", lambda r: bundle.write_bytes(bundle.read_bytes() + b"\n"))
    found = messages(check(reg, cli, 1))
    assert any("a signature is never changed or removed" in m for m in found)
    assert any("named by its bytes' SHA-256" in m for m in found)
    git(reg, "checkout", "-q", "main")
    assert cli("check", "-R", reg).exit_code == 0


def test_a_folder_signature_must_cover_exactly_its_files(signed_registry: Path, keys: Path, tmp_path: Path) -> None:
    from gitreg.documents import signatures
    from gitreg.operations import sign

    reg = signed_registry
    artifact = api.show("bert@1.0.0", registry=reg).artifact
    pulled = api.pull("bert@1.0.0", output=tmp_path / "pulled-bert", registry=reg)
    spec = sign.parse_spec(f"key:{keys / 'release.key'}")
    assert signatures.covers(signatures.parse(sign.make_bundle(spec, pulled), "x"), artifact) is None
    (pulled / "extra.txt").write_text("x")
    extra = signatures.covers(signatures.parse(sign.make_bundle(spec, pulled), "x"), artifact)
    assert extra == "the signature covers 'extra.txt', which the artifact does not have"
    (pulled / "extra.txt").unlink()
    (pulled / "tok" / "vocab.txt").unlink()
    missing = signatures.covers(signatures.parse(sign.make_bundle(spec, pulled), "x"), artifact)
    assert missing == "the signature does not cover 'tok/vocab.txt'"


def test_bad_signing_input_is_one_line_and_writes_nothing(signed_registry: Path, keys: Path, cli: Cli) -> None:
    reg = signed_registry
    before = state(reg)
    for spec, message in (
        ("rsa:key.pem", "invalid signing spec"),
        (f"key:{keys / 'missing.key'}", "is not a file"),
        (f"key:{keys / 'release.pub'}", "cannot sign with key"),
        (f"certificate:{keys / 'leaf.pem'},{keys / 'other.key'},{keys / 'ca.pem'}", "cannot sign with certificate"),
        (f"certificate:{keys / 'leaf.pem'},{keys / 'leaf.key'}", "invalid signing spec"),
    ):
        err = cli("sign", "fraud", "1.0.0", spec, "-R", reg, code=2).stderr
        assert message in err and err.count("\n") == 1, err
    assert "is not registered" in cli("sign", "fraud", "9.9.9", f"key:{keys / 'release.key'}", "-R", reg, code=1).stderr
    assert state(reg) == before


def test_keyless_signing_offline_fails_in_one_line(
    signed_registry: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keyless (Sigstore) signing needs an OpenID Connect token and Sigstore's
    services: without a token it says so before any byte moves; with one,
    offline, Sigstore's trust root cannot be fetched, said in one line."""
    reg = signed_registry
    monkeypatch.delenv("SIGSTORE_ID_TOKEN", raising=False)
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_URL", raising=False)
    before = state(reg)
    err = cli("sign", "fraud", "1.0.0", "sigstore", "-R", reg, code=2).stderr
    assert "keyless signing needs an OpenID Connect token" in err and err.count("\n") == 1
    assert state(reg) == before
    monkeypatch.setenv("SIGSTORE_ID_TOKEN", "eyJhbGciOiJub25lIn0.e30.")
    err = cli("sign", "fraud", "1.0.0", "sigstore", "-R", reg, code=2).stderr
    assert err.startswith("gitreg: error: cannot sign with sigstore: ") and err.count("\n") == 1, err
    assert git(reg, "status", "--porcelain") == ""


def test_keyless_verification_offline_is_a_refusal_with_its_reason(signed_registry: Path, keys: Path) -> None:
    """A keyless bundle (certificate and transparency-log entry) is judged
    against Sigstore's trust root, fetched over the network: offline, the
    gate fails and says why; a policy without issuers refuses it outright."""
    from gitreg.documents import signatures
    from gitreg.documents.manifest import SignaturePolicy
    from gitreg.operations import sign

    reg = signed_registry
    artifact = api.show("fraud@1.0.0", registry=reg).artifact
    spec = sign.parse_spec(f"certificate:{keys / 'leaf.pem'},{keys / 'leaf.key'},{keys / 'ca.pem'}")
    pulled = api.pull("fraud@1.0.0", output=reg.parent / "m.pkl", registry=reg)
    doc = json.loads(sign.make_bundle(spec, pulled))
    material = doc["verificationMaterial"]
    material["certificate"] = material.pop("x509CertificateChain")["certificates"][0]
    material["tlogEntries"] = [{"logIndex": "1"}]
    keyless = json.dumps(doc).encode()
    policy = SignaturePolicy(
        identities=("release@example.com",), issuers=("https://token.actions.githubusercontent.com",)
    )
    offline = signatures.judge(policy, {"k.sig": keyless}, artifact, {})
    assert not offline.passed and "keyless verification failed: " in offline.reason, offline.reason
    keys_only = signatures.judge(
        SignaturePolicy(keys=(".gitreg/keys/release.pub",)),
        {"k.sig": keyless},
        artifact,
        {".gitreg/keys/release.pub": (keys / "release.pub").read_bytes()},
    )
    assert "a keyless (Sigstore) signature, and the policy trusts no OpenID Connect issuer" in keys_only.reason


def test_pull_and_load_artifact_verify_the_signature(
    signed_registry: Path, keys: Path, artifact: Path, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deploy host pulls MODEL@STAGE only with a signature the stage's
    policy accepts, and re-hashes the bytes against the signed digests; a
    served copy tampered with in the cache is caught on the next load."""
    reg = signed_registry
    monkeypatch.setenv("GITREG_CACHE_DIR", str(tmp_path / "cache"))
    cli("sign", "fraud", "1.0.0", f"key:{keys / 'release.key'}", "-R", reg)
    cli("promote", "fraud", "1.0.0", "--to", "staging", "-R", reg)
    out = cli("pull", "fraud@staging", "--verify-signature", "-o", tmp_path / "m.pkl", "-R", reg).stdout
    assert out.strip() == str(tmp_path / "m.pkl") and (tmp_path / "m.pkl").exists()
    err = cli("pull", "fraud@1.0.1", "--verify-signature", "-o", tmp_path / "n.pkl", "-R", reg, code=1).stderr
    assert "fraud 1.0.1: the version has no signature" in err and not (tmp_path / "n.pkl").exists()
    api.register("plain", artifact, registry=reg)
    err = cli("pull", "plain@1.0.0", "--verify-signature", "-o", tmp_path / "p.pkl", "-R", reg, code=2).stderr
    assert "no require_signature policy for model plain" in err and not (tmp_path / "p.pkl").exists()
    served = api.load_artifact("fraud@staging", verify_signature=True, registry=reg)
    assert served.read_bytes() == (tmp_path / "m.pkl").read_bytes()
    served.chmod(0o644)
    served.write_bytes(b"swapped on the serving host")
    with pytest.raises(ArtifactError, match="the file is not what the signature covers"):
        api.load_artifact("fraud@staging", verify_signature=True, registry=reg)


def _bundle_for(case: str, reg: Path, keys: Path, scratch: Path) -> bytes:
    """A bundle for bert 1.0.0 that a staging policy (release.pub) must refuse."""
    from gitreg.operations import sign

    pulled = api.pull("bert@1.0.0", output=scratch / f"bert-{case}", registry=reg)
    release = sign.parse_spec(f"key:{keys / 'release.key'}")
    if case == "wrong key":
        return sign.make_bundle(sign.parse_spec(f"key:{keys / 'other.key'}"), pulled)
    if case == "other bytes":
        (pulled / "weights.bin").write_bytes(b"other weights")
    elif case == "a file missing":
        (pulled / "tok" / "vocab.txt").unlink()
    elif case == "a file extra":
        (pulled / "extra.txt").write_text("x")
    data = sign.make_bundle(release, pulled)
    if case == "tampered":
        doc = json.loads(data)
        doc["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(b"\x30\x06\x02\x01\x01\x02\x01\x01").decode()
        data = json.dumps(doc).encode()
    return data


REFUSALS = {
    "wrong key": "not an allowed one",
    "other bytes": "the signature covers other bytes of 'weights.bin'",
    "a file missing": "the signature does not cover 'tok/vocab.txt'",
    "a file extra": "the signature covers 'extra.txt', which the artifact does not have",
    "tampered": "the signature does not verify",
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_each_bad_signature_is_refused_by_promote_and_by_check(
    case: str, signed_registry: Path, keys: Path, cli: Cli, tmp_path: Path
) -> None:
    reg = signed_registry
    data = _bundle_for(case, reg, keys, tmp_path)
    folder = reg / "models" / "bert" / "signatures" / "1.0.0"

    def signed_and_promoted(r: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / layout.signature_name(data)).write_bytes(data)
        pointer(r, "staging", "1.0.0", model="bert", folder="bert")

    pr(reg, f"bad-{case.replace(' ', '-')}", signed_and_promoted)
    found = messages(check(reg, cli, 1))
    assert [m for m in found if "require_signature" in m and REFUSALS[case] in m], found
    git(reg, "reset", "-q", "--hard", "HEAD~1")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / layout.signature_name(data)).write_bytes(data)
    git(reg, "add", "-A")
    git(reg, "commit", "-qm", f"a signature: {case}")
    refused = cli("promote", "bert", "1.0.0", "--to", "staging", "-R", reg, code=1).stderr
    assert REFUSALS[case] in refused and refused.count("\n") == 1, refused


def test_model_set_writes_a_checked_policy(signed_registry: Path, keys: Path, cli: Cli) -> None:
    reg = signed_registry
    cli("model", "set", "fraud", "--remove-require-signature", "staging", "-R", reg)
    assert set(api.model_show("fraud", registry=reg).require_signature) == {"production"}
    args = ("model", "set", "fraud", "--require-signature", "staging:key=.gitreg/keys/release.pub")
    cli(*args, "--require-signature", "staging:identity=release@example.com", "-R", reg)
    policy = api.model_show("fraud", registry=reg).require_signature["staging"]
    assert policy.keys == (".gitreg/keys/release.pub",) and policy.identities == ("release@example.com",)
    before = state(reg)
    for value, message in (
        ("staging:key=.gitreg/keys/missing.pub", "is not in the registry: commit the key"),
        ("staging:key=.gitreg/keys/ca.pem", "not a PEM public key"),
        ("staging:key=../outside.pub", "a key is a file in the registry under .gitreg/"),
        ("staging:password=x", "invalid --require-signature"),
        ("nowhere:key=.gitreg/keys/release.pub", "stage"),
    ):
        err = cli("model", "set", "fraud", "--require-signature", value, "-R", reg, code=2).stderr
        assert message in err and err.count("\n") == 1, err
    assert state(reg) == before
