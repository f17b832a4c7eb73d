"""``gitreg sign MODEL VERSION SPEC`` and ``gitreg register ... --sign SPEC``:
an OpenSSF Model Signing (OMS) signature over the artifact's files, made by
``model_signing`` (the ``signing`` extra) from the bytes themselves, and
committed beside the manifest as ``models/<model>/signatures/<version>/
<sha256>.sig``. A version may gain signatures, never lose or change one
(``gitreg check``). The bundle is what ``model_signing`` writes, so its
own ``verify`` reads it too.

SPEC is ``key:PRIVATE_KEY`` (an elliptic-curve key, PEM),
``certificate:CERT,PRIVATE_KEY,CHAIN[,CHAIN...]`` (a signing certificate, its
key, and the certificates up to the authority, at least one) or ``sigstore``
(keyless: an OpenID Connect identity, Sigstore's authority and log — the
network is needed).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gitreg.core.registry import Registry
from gitreg.core.snapshot import Snapshot
from gitreg.core.transaction import Change
from gitreg.documents import layout, manifest, signatures
from gitreg.documents.manifest import ModelVersion, SignaturePolicy
from gitreg.documents.names import Version, check_model_name, shown
from gitreg.errors import ConflictError, InvalidDocumentError, NotFoundError, UsageError


@dataclass(frozen=True)
class Spec:
    kind: Literal["key", "certificate", "sigstore"]
    key: Path | None = None
    certificate: Path | None = None
    chain: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Signed:
    model: str
    version: str
    path: str  # the bundle's path in the registry
    signer: str
    commit: str | None = None


def parse_spec(text: str) -> Spec:
    """``key:PATH``, ``certificate:CERT,KEY,CHAIN[,CHAIN...]`` or ``sigstore``,
    the files checked to exist."""
    kind, _, rest = text.partition(":")
    if kind == "sigstore" and not rest:
        return Spec("sigstore")
    paths = [Path(p) for p in rest.split(",")] if rest else []
    if kind == "key" and len(paths) == 1:
        spec = Spec("key", key=paths[0])
    elif kind == "certificate" and len(paths) >= 3:
        spec = Spec("certificate", key=paths[1], certificate=paths[0], chain=tuple(paths[2:]))
    else:
        raise UsageError(
            f"invalid signing spec {shown(text)}: give key:PRIVATE_KEY, certificate:CERT,PRIVATE_KEY,CHAIN[,CHAIN...] "
            "or sigstore"
        )
    for path in (spec.key, spec.certificate, *spec.chain):
        if path is not None and not path.is_file():
            raise UsageError(f"signing spec: {path} is not a file")
    return spec


def _model_signing() -> tuple[Any, Any]:
    """``model_signing``'s hashing and signing modules (the signing extra)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from model_signing import hashing, signing
    except ImportError:
        raise UsageError("signing needs the model-signing package: pip install 'gitreg[signing]'") from None
    return hashing, signing


def check_available() -> None:
    """Refuse early (before a registration commits) when signing cannot be done here."""
    _model_signing()


def preflight(spec: Spec) -> None:
    """Refuse a key or certificate that cannot sign before any byte moves:
    an elliptic-curve private key, a certificate for that key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if spec.kind == "sigstore":
        _keyless_identity()
    if spec.key is None:
        return
    try:
        key = serialization.load_pem_private_key(spec.key.read_bytes(), None)
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"cannot sign with {spec.kind}: {spec.key} is not an unencrypted PEM private key ({exc})"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise UsageError(f"cannot sign with {spec.kind}: {spec.key} is not an elliptic-curve key (OMS signs with EC)")
    if spec.certificate is not None:
        try:
            certificate = x509.load_pem_x509_certificate(spec.certificate.read_bytes())
        except ValueError:
            raise UsageError(f"cannot sign with certificate: {spec.certificate} is not a PEM certificate") from None
        if certificate.public_key() != key.public_key():
            raise UsageError(f"cannot sign with certificate: {spec.certificate} is not the certificate of {spec.key}")


def _keyless_identity() -> dict[str, Any]:
    """Keyless signing's identity, never by a browser: a token in
    ``SIGSTORE_ID_TOKEN``, or the CI's own (GitHub Actions with
    ``id-token: write``)."""
    token = os.environ.get("SIGSTORE_ID_TOKEN")
    if token:
        return {"identity_token": token, "force_oob": True}
    if os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL"):
        return {"use_ambient_credentials": True, "force_oob": True}
    raise UsageError(
        "keyless signing needs an OpenID Connect token: run it in GitHub Actions with `id-token: write`, "
        "or set SIGSTORE_ID_TOKEN"
    )


def make_bundle(spec: Spec, artifact: Path) -> bytes:
    """The OMS bundle of ``artifact`` (a file or folder on disk), every file
    hashed and none left out (``model_signing`` leaves git's files out
    unless told)."""
    hashing, signing = _model_signing()
    hashed = hashing.Config().set_ignored_paths(paths=[], ignore_git_paths=False).set_allow_symlinks(True)
    config = signing.Config().set_hashing_config(hashed)  # untyped: the module is loaded at run time
    try:
        if spec.kind == "key":
            config = config.use_elliptic_key_signer(private_key=str(spec.key))
        elif spec.kind == "certificate":
            config = config.use_certificate_signer(
                private_key=str(spec.key), signing_certificate=str(spec.certificate), certificate_chain=spec.chain
            )
        else:
            config = config.use_sigstore_signer(**_keyless_identity())
        with tempfile.TemporaryDirectory(prefix="gitreg-sign-") as scratch:
            out = Path(scratch) / "bundle.sig"
            config.sign(artifact, out)
            return out.read_bytes()
    except UsageError:
        raise
    except Exception as exc:  # model_signing's, cryptography's and Sigstore's errors are their own classes
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"cannot sign with {spec.kind}: {detail}") from None


def sign(registry: Registry, model: str, version: str, spec: Spec, source: Path | None = None) -> Signed:
    """Sign the version's artifact (``source``: its bytes on disk, as at
    registration; else pulled from the DVC remote and verified first) and
    commit the bundle. The bundle must cover exactly the manifest's files
    and SHA-256 digests."""
    from gitreg.storage import artifacts

    check_model_name(model)
    wanted = str(Version.parse(version))
    preflight(spec)
    snap = registry.snapshot()
    document = _version(snap, model, wanted)
    if document.artifact.sha256 is None:
        raise ConflictError(
            f"{model} {wanted} records no SHA-256 (registered before gitreg did): a signature could not be checked"
        )
    with tempfile.TemporaryDirectory(prefix="gitreg-sign-") as scratch:
        if source is None:
            store = artifacts.Store(registry.dvc_root(snap), document.artifact.remote)
            source = store.pull(document.artifact, Path(scratch) / document.artifact.path)
        data = make_bundle(spec, source)
    name = layout.signature_name(data)
    try:
        bundle = signatures.parse(data, name)
    except InvalidDocumentError as exc:
        raise ConflictError(f"the signature made is not one gitreg reads: {exc}") from None
    fault = signatures.covers(bundle, document.artifact)
    if fault is not None:
        raise ConflictError(f"the signature made does not match {model} {wanted}: {fault}; nothing was committed")
    signer = _signer(bundle, spec)
    path = f"{layout.signatures_dir(snap.models_dir, model, wanted)}/{name}"

    def build(tip: Snapshot) -> Change:
        current = _version(tip, model, wanted)
        if current.artifact != document.artifact:
            raise ConflictError(f"{model} {wanted} changed while signing: sign it again")
        trailers = {"Gitreg-Action": "sign", "Gitreg-Model": model, "Gitreg-Version": wanted, "Gitreg-Signer": signer}
        return Change({path: data}, f"Sign {model} {wanted} ({spec.kind})", trailers)

    applied = registry.apply(build)
    return Signed(model, wanted, path, signer, applied.commit)


def _version(snap: Snapshot, model: str, version: str) -> ModelVersion:
    document = snap.version(model, version)
    if document is None:
        raise NotFoundError(f"{model} {version} is not registered")
    return document


def _signer(bundle: signatures.Bundle, spec: Spec) -> str:
    """Who signed, as the bundle says (unverified: for the record)."""
    if spec.kind == "key":
        return f"key {bundle.key_hint}"
    if spec.kind == "certificate" and bundle.chain:
        from cryptography import x509

        leaf = x509.load_der_x509_certificate(bundle.chain[0])
        return f"certificate {leaf.subject.rfc4514_string()[:200]}"
    return spec.kind


def _policies(snap: Snapshot, ref: str) -> list[SignaturePolicy]:
    """The signature policies a version ``ref`` names must satisfy: the
    stage's it names, else every stage's of its model."""
    document = snap.resolve(ref)
    what = ref.rpartition("@")[2]
    described = snap.model(document.model)
    stages = [what] if what in snap.config.stages else list(snap.config.stages)
    return [p for stage in stages if (p := manifest.signature_policy(described, stage, snap.config))]


def required(snap: Snapshot, ref: str) -> bool:
    """Whether a signature policy applies to what ``ref`` names (``_policies``)."""
    return bool(_policies(snap, ref))


def trusted_bundle(snap: Snapshot, ref: str) -> signatures.Bundle:
    """For ``pull --verify-signature``: the bundle of the version ``ref``
    names that a signature policy accepts — the policy of the stage ``ref``
    names, else any stage's of the model — from the bundle alone (the bytes
    are re-hashed against it once pulled)."""
    document = snap.resolve(ref)
    what = ref.rpartition("@")[2]
    policies = _policies(snap, ref)
    if not policies:
        where = f"stage {what}" if what in snap.config.stages else f"model {document.model}"
        raise UsageError(f"no require_signature policy for {where}: nothing to verify the signature against")
    bundles = signatures.read_bundles(snap.repo, str(snap.commit), snap.models_dir, document.model, document.version)
    reasons = []
    for policy in dict.fromkeys(policies):
        material = snap.repo.read_paths(str(snap.commit), list(policy.files()))
        found, why = signatures.accepted(policy, bundles, document.artifact, material)
        if found is not None:
            return found[0]
        reasons.append(why)
    raise ConflictError(f"{document.model} {document.version}: {reasons[0]}")
