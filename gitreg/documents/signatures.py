"""OpenSSF Model Signing (OMS) signatures, read and verified from the bundle
alone: no artifact byte is needed, so ``promote`` and ``check --base`` judge
a signed promotion on the CI path.

A bundle (what ``model_signing`` writes, a Sigstore bundle in JSON) holds a
DSSE envelope whose payload is an in-toto statement: its predicate lists the
model's files (``resources``: name, algorithm, digest; a single file is
named ``.``), its one subject's SHA-256 is the digest of those digests in
order. The envelope's signature is over DSSE's pre-authentication encoding
of the payload, made with an elliptic-curve key (P-256, P-384, P-521; the
hash follows the curve) that either the verifier holds (key mode) or a
certificate in the bundle carries (certificate mode, chained to a CA the
verifier trusts).

Verification is written here on ``cryptography`` rather than through
``model_signing``: importing that package and its Sigstore stack takes
0.75 s on the machine of benchmarks/, importing what is used here 0.13 s,
and the check of a promotion must stay under 0.5 s. Keyless (Sigstore)
bundles need Sigstore's trust root and transparency log: ``keyless`` goes
through ``model_signing`` for those.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gitreg.documents import layout
from gitreg.documents.manifest import Artifact, ModelVersion, SignaturePolicy, folder_sha256
from gitreg.errors import InvalidDocumentError

if TYPE_CHECKING:
    from gitreg.documents.gates import GateResult
    from gitreg.storage.git import Repo

MAX_BYTES = 2 * 1024 * 1024  # a bundle at most (about 2 KiB, 4 with a certificate chain, +200 bytes a file)
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
SINGLE_FILE = "."  # the name OMS gives the one file of a single-file model
MAX_CHAIN = 8


class SignatureError(Exception):
    """A signature that does not verify, or does not cover what it should: its reason."""


@dataclass(frozen=True)
class Bundle:
    """A parsed OMS bundle: the signed payload, the signature, and what the
    bundle carries to verify it (a key's fingerprint, or a certificate chain)."""

    payload: bytes
    signature: bytes
    key_hint: str  # SHA-256 of the signing key's PEM, in key mode ("" otherwise)
    chain: tuple[bytes, ...]  # DER certificates, the signing certificate first (certificate mode)
    keyless: bool  # a Sigstore keyless bundle (transparency log entries)
    files: Mapping[str, str]  # name -> SHA-256, as the statement lists them
    model: str  # the statement's subject name (the model folder's or file's name when signed)


@dataclass(frozen=True)
class Signer:
    """Who made a signature that verified."""

    kind: str  # key | certificate | sigstore
    identity: str  # the key's fingerprint, or the certificate's subject or identity

    def __str__(self) -> str:
        return f"{self.kind} {self.identity}"


def parse(data: bytes, source: str) -> Bundle:
    """Read an OMS bundle, refusing anything malformed (InvalidDocumentError
    naming ``source`` and what is wrong). Nothing is trusted yet."""
    if len(data) > MAX_BYTES:
        raise InvalidDocumentError(f"{source}: a signature bundle of {len(data):,} bytes, over {MAX_BYTES:,}")
    try:
        doc = json.loads(data)
        envelope = doc["dsseEnvelope"]
        payload = base64.b64decode(envelope["payload"], validate=True)
        if envelope.get("payloadType") != PAYLOAD_TYPE:
            raise ValueError(f"payload type {str(envelope.get('payloadType'))[:80]!r}, not {PAYLOAD_TYPE}")
        signatures = envelope["signatures"]
        if not isinstance(signatures, list) or len(signatures) != 1:
            raise ValueError("not exactly one signature in the envelope")
        signature = base64.b64decode(signatures[0]["sig"], validate=True)
        material = doc.get("verificationMaterial") or {}
        hint = (material.get("publicKey") or {}).get("hint", "")
        raw_chain = (material.get("x509CertificateChain") or {}).get("certificates", [])
        leaf = material.get("certificate")
        chain = [base64.b64decode(c["rawBytes"], validate=True) for c in raw_chain]
        if isinstance(leaf, dict):
            chain.insert(0, base64.b64decode(leaf["rawBytes"], validate=True))
        keyless = bool(material.get("tlogEntries")) and isinstance(leaf, dict)
        files, model = _statement(payload)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, RecursionError) as exc:
        detail = str(exc) if isinstance(exc, ValueError) and not isinstance(exc, json.JSONDecodeError) else ""
        reason = detail or f"not an OMS signature bundle ({type(exc).__name__})"
        raise InvalidDocumentError(f"{source}: {reason[:200]}") from None
    if not isinstance(hint, str) or len(chain) > MAX_CHAIN:
        raise InvalidDocumentError(f"{source}: not an OMS signature bundle (verification material)")
    return Bundle(payload, signature, hint, tuple(chain), keyless, files, model)


def _statement(payload: bytes) -> tuple[dict[str, str], str]:
    """The files a statement lists, checked against its subject's digest."""
    statement = json.loads(payload)
    if statement.get("_type") != STATEMENT_TYPE:
        raise ValueError(f"not an in-toto statement v1 ({str(statement.get('_type'))[:80]!r})")
    if statement.get("predicateType") != PREDICATE_TYPE:
        raise ValueError(f"predicate {str(statement.get('predicateType'))[:80]!r}, not OMS v1.0 ({PREDICATE_TYPE})")
    subjects = statement["subject"]
    if not isinstance(subjects, list) or len(subjects) != 1:
        raise ValueError("not exactly one subject")
    predicate = statement["predicate"]
    method = predicate["serialization"]["method"]
    if method != "files":
        raise ValueError(f"files hashed by {str(method)[:40]!r}: gitreg compares whole files (method 'files') only")
    files: dict[str, str] = {}
    root = hashlib.sha256()
    for resource in predicate["resources"]:
        name, algorithm, digest = resource["name"], resource["algorithm"], resource["digest"]
        if algorithm != "sha256":
            raise ValueError(f"file {str(name)[:80]!r} hashed with {str(algorithm)[:40]!r}: gitreg compares SHA-256")
        if not isinstance(name, str) or not isinstance(digest, str) or name in files:
            raise ValueError("a resource without a name and digest, or listed twice")
        raw = bytes.fromhex(digest)
        if len(raw) != 32:
            raise ValueError(f"file {name[:80]!r}: a SHA-256 of {len(raw)} bytes")
        files[name] = digest.lower()
        root.update(raw)
    if subjects[0]["digest"]["sha256"] != root.hexdigest():
        raise ValueError("the statement's subject digest is not that of its files: altered")
    return files, str(subjects[0]["name"])


def pae(payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what the signature is over."""
    return b"DSSEv1 %d %s %d %s" % (len(PAYLOAD_TYPE), PAYLOAD_TYPE.encode(), len(payload), payload)


def _check_signature(public_key: Any, bundle: Bundle) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise SignatureError("the signing key is not an elliptic-curve key (OMS signs with P-256, P-384 or P-521)")
    digest = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}.get(public_key.curve.key_size)
    if digest is None:
        raise SignatureError(f"the signing key's curve {public_key.curve.name} is not one OMS uses")
    try:
        public_key.verify(bundle.signature, pae(bundle.payload), ec.ECDSA(digest))
    except InvalidSignature:
        raise SignatureError(
            "the signature does not verify: the bundle was altered, or made with another key"
        ) from None


def key_fingerprint(public_key: Any) -> str:
    """SHA-256 of the key's PEM (SubjectPublicKeyInfo): the hint OMS writes."""
    from cryptography.hazmat.primitives import serialization

    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(pem).hexdigest()


def load_public_key(data: bytes, source: str) -> Any:
    from cryptography.hazmat.primitives import serialization

    try:
        return serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise InvalidDocumentError(f"{source}: not a PEM public key ({str(exc)[:120]})") from None


def load_certificates(data: bytes, source: str) -> list[Any]:
    from cryptography import x509

    try:
        found = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise InvalidDocumentError(f"{source}: not PEM certificates ({str(exc)[:120]})") from None
    if not found:
        raise InvalidDocumentError(f"{source}: no certificate in it")
    return found


def verify_key(bundle: Bundle, keys: Sequence[Any]) -> Signer:
    """The key (of ``keys``) that made the bundle's signature."""
    if bundle.chain or bundle.keyless:
        raise SignatureError("signed with a certificate, not with a key")
    matching = [k for k in keys if key_fingerprint(k) == bundle.key_hint] if bundle.key_hint else list(keys)
    if not matching:
        raise SignatureError(f"signed by key {bundle.key_hint[:16]}…, not an allowed one")
    reasons = []
    for key in matching:
        try:
            _check_signature(key, bundle)
        except SignatureError as exc:
            reasons.append(str(exc))
            continue
        return Signer("key", key_fingerprint(key))
    raise SignatureError(reasons[0])


def verify_certificate(bundle: Bundle, authorities: Sequence[Any], identities: Sequence[str] = ()) -> Signer:
    """The certificate that made the bundle's signature, chained (through
    the bundle's intermediates) to one of ``authorities``, valid when it
    was issued (OMS records no signing time), allowed to sign and, when
    ``identities`` are given, naming one of them (an e-mail or URI in its
    subject alternative names, or its common name)."""
    from cryptography import x509

    if not bundle.chain or bundle.keyless:
        raise SignatureError("signed with a key, not with a certificate" if not bundle.chain else "a keyless bundle")
    try:
        chain = [x509.load_der_x509_certificate(raw) for raw in bundle.chain]
    except ValueError:
        raise SignatureError("a certificate in the bundle cannot be read") from None
    leaf = chain[0]
    when = leaf.not_valid_before_utc
    trusted = {a.fingerprint(_sha256()): a for a in authorities}
    path = [leaf]
    while path[-1].fingerprint(_sha256()) not in trusted:
        if len(path) > MAX_CHAIN:
            raise SignatureError("the certificate chain is too long")
        issuer = _issuer(path[-1], [*chain[1:], *authorities])
        if issuer is None:
            raise SignatureError(f"certificate {_subject(leaf)!r} does not chain to an allowed authority")
        path.append(issuer)
    for cert in path:
        if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
            raise SignatureError(f"certificate {_subject(cert)!r} was not valid when {_subject(leaf)!r} was issued")
    for issuer in path[1:]:
        if not _is_ca(issuer):
            raise SignatureError(f"certificate {_subject(issuer)!r} issued another but is not a CA")
    if not _may_sign(leaf):
        raise SignatureError(f"certificate {_subject(leaf)!r} is not allowed to sign (key usage)")
    names = _identities(leaf)
    if identities and not set(names) & set(identities):
        raise SignatureError(f"certificate for {', '.join(names) or '?'} is not an allowed identity")
    _check_signature(leaf.public_key(), bundle)
    return Signer("certificate", names[0] if names else _subject(leaf))


def _sha256() -> Any:
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def _issuer(cert: Any, candidates: Sequence[Any]) -> Any:
    from cryptography.exceptions import InvalidSignature

    for candidate in candidates:
        if candidate.subject != cert.issuer or candidate.fingerprint(_sha256()) == cert.fingerprint(_sha256()):
            continue
        try:
            cert.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):  # a wrong signature, algorithm or key type: not this one
            continue
        return candidate
    return None


def _is_ca(cert: Any) -> bool:
    from cryptography import x509

    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _may_sign(cert: Any) -> bool:
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    try:
        if cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature:
            return True
    except x509.ExtensionNotFound:
        pass
    try:
        return ExtendedKeyUsageOID.CODE_SIGNING in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False


def _identities(cert: Any) -> list[str]:
    from cryptography import x509

    names: list[str] = []
    try:
        alternatives = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names += alternatives.get_values_for_type(x509.RFC822Name)
        names += alternatives.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        pass
    common = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    names += [str(a.value) for a in common]
    return names


def _subject(cert: Any) -> str:
    return str(cert.subject.rfc4514_string())[:120]


def covers(bundle: Bundle, artifact: Artifact) -> str | None:
    """Why the signed files are not exactly the artifact's (None: they are):
    a file's SHA-256, a file missing from the signature or extra in it. An
    artifact registered before gitreg recorded SHA-256 cannot be compared."""
    if artifact.sha256 is None:
        return "the version records no SHA-256 (registered before gitreg did): re-register it to sign it"
    if not artifact.is_dir:
        if set(bundle.files) != {SINGLE_FILE}:
            return f"the signature covers a folder of {len(bundle.files)} file(s), the artifact is one file"
        return None if bundle.files[SINGLE_FILE] == artifact.sha256 else "the signature covers other bytes"
    if SINGLE_FILE in bundle.files:
        return "the signature covers one file, the artifact is a folder"
    if artifact.files is None:  # a folder of many files: its digest over all of them
        return None if folder_sha256(bundle.files) == artifact.sha256 else "the signature covers other files or bytes"
    missing = sorted(set(artifact.files) - set(bundle.files))
    extra = sorted(set(bundle.files) - set(artifact.files))
    changed = sorted(n for n in set(artifact.files) & set(bundle.files) if artifact.files[n] != bundle.files[n])
    if missing:
        return f"the signature does not cover {missing[0]!r}" + (
            f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        )
    if extra:
        return f"the signature covers {extra[0]!r}, which the artifact does not have"
    if changed:
        return f"the signature covers other bytes of {changed[0]!r}"
    return None


def read_bundles(repo: Repo, commit: str, models_dir: str, model: str, version: str) -> dict[str, bytes]:
    """{file name: bytes} of the version's signature bundles at ``commit``."""
    folder = layout.signatures_dir(models_dir, model, version)
    names = [e.path for e in repo.ls_tree(commit, folder) if e.type == "blob"]  # none when there is no folder
    found = repo.read_paths(commit, names)
    return {path.rsplit("/", 1)[-1]: data for path, data in found.items() if data is not None}


def judge(
    policy: SignaturePolicy, bundles: Mapping[str, bytes], artifact: Artifact, material: Mapping[str, bytes | None]
) -> GateResult:
    """The stage's ``require_signature`` gate: passed when one of
    ``bundles`` is a valid signature by a signer ``policy`` allows (its keys
    and certificate authorities read from ``material``, {path: bytes}) that
    covers exactly ``artifact``; else why each bundle failed."""
    from gitreg.documents.gates import GateResult

    found, why = accepted(policy, bundles, artifact, material)
    signer = str(found[1]) if found else None
    return GateResult("require_signature", "require", "signature", True, signer, None, found is not None, why)


def accepted(
    policy: SignaturePolicy, bundles: Mapping[str, bytes], artifact: Artifact, material: Mapping[str, bytes | None]
) -> tuple[tuple[Bundle, Signer] | None, str]:
    """The first of ``bundles`` that ``judge`` accepts, with its signer and
    "signed by ..."; else None and why none was."""
    try:
        keys = [load_public_key(_material(material, p), p) for p in policy.keys]
        authorities = [c for p in policy.certificates for c in load_certificates(_material(material, p), p)]
    except InvalidDocumentError as exc:
        return None, f"the policy's {exc}"
    if not bundles:
        return None, "the version has no signature"
    reasons = []
    for name, data in sorted(bundles.items()):
        try:
            bundle = parse(data, name)
            signer = _allowed_signer(bundle, policy, keys, authorities, data)
        except (InvalidDocumentError, SignatureError) as exc:
            reasons.append(f"{name}: {str(exc).removeprefix(name + ': ')}")
            continue
        fault = covers(bundle, artifact)
        if fault is None:
            return (bundle, signer), f"signed by {signer}"
        reasons.append(f"{name}: {fault}")
    more = f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else ""
    return None, f"no valid signature by an allowed signer: {'; '.join(reasons[:3])}{more}"


def rehashed(bundle: Bundle, found: Mapping[str, str]) -> str | None:
    """Why bytes re-hashed to ``found`` ({relpath: sha256}, a single file's
    under "": ``artifacts.digests_on_disk``) are not what ``bundle`` signed
    (None: every file's SHA-256 is the signed one, none missing or extra)."""
    signed = {"" if name == SINGLE_FILE else name: digest for name, digest in bundle.files.items()}
    for name in sorted(set(found) | set(signed)):
        if found.get(name) != signed.get(name):
            return f"{repr(name) if name else 'the file'} is not what the signature covers"
    return None


def _material(material: Mapping[str, bytes | None], path: str) -> bytes:
    data = material.get(path)
    if data is None:
        raise InvalidDocumentError(f"{path} is not in the registry")
    return data


def _allowed_signer(
    bundle: Bundle, policy: SignaturePolicy, keys: Sequence[Any], authorities: Sequence[Any], data: bytes
) -> Signer:
    if bundle.keyless:
        if not policy.issuers:
            raise SignatureError("a keyless (Sigstore) signature, and the policy trusts no OpenID Connect issuer")
        return verify_keyless(data, policy.identities, policy.issuers)
    if bundle.chain:
        if not authorities:
            raise SignatureError("signed with a certificate, and the policy trusts no certificate authority")
        return verify_certificate(bundle, authorities, policy.identities)
    if not keys:
        raise SignatureError("signed with a key, and the policy allows no key")
    return verify_key(bundle, keys)


def verify_keyless(data: bytes, identities: Sequence[str], issuers: Sequence[str]) -> Signer:
    """A Sigstore keyless signature, through ``model_signing`` (the
    ``signing`` extra): its certificate from Sigstore's authority and its
    transparency-log entry, against Sigstore's trust root, which is
    fetched over the network."""
    import tempfile
    from pathlib import Path

    try:
        from model_signing._signing import sign_sigstore
    except ImportError:
        raise SignatureError("a keyless signature needs the signing extra: pip install 'gitreg[signing]'") from None
    reasons = []
    with tempfile.TemporaryDirectory(prefix="gitreg-sigstore-") as scratch:
        bundle = Path(scratch) / "bundle.sig"
        bundle.write_bytes(data)
        for identity in identities:
            for issuer in issuers:
                try:
                    verifier = sign_sigstore.Verifier(identity=identity, oidc_issuer=issuer)
                    verifier.verify(sign_sigstore.Signature.read(bundle))
                except Exception as exc:  # Sigstore's and the network's errors are their own classes
                    reasons.append(str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__)
                    continue
                return Signer("sigstore", f"{identity} ({issuer})")
    raise SignatureError(f"keyless verification failed: {reasons[0] if reasons else 'no identity allowed'}")


def stage_gate(
    repo: Repo,
    models_dir: str,
    policy: SignaturePolicy,
    candidate: ModelVersion,
    *,
    policy_at: str,
    bundles_at: str,
) -> GateResult:
    """The ``require_signature`` gate of a move of ``candidate``: its
    bundles read at ``bundles_at`` (a change may bring its signature), the
    policy's keys and authorities at ``policy_at`` (the base judges, as it
    does gates)."""
    bundles = read_bundles(repo, bundles_at, models_dir, candidate.model, candidate.version)
    material = repo.read_paths(policy_at, list(policy.files()))
    return judge(policy, bundles, candidate.artifact, material)
