"""Credentials in URLs: found, cut or masked before a URL is committed,
printed or logged.

Two places carry them: the user-info part (``https://user:token@host/``) and
the query (``?access_token=…``, a SAS ``sig=``, a presigned ``X-Amz-Signature``).
``strip`` removes both (for what is committed: lineage, run links);
``redact`` masks them (for messages, where the URL's shape still helps).
"""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")
# query parameters that hold secrets, by the names services give them
_SECRET_PARAM = re.compile(
    r"(?P<key>[?&;](?:access[_-]?token|private[_-]?token|id[_-]?token|refresh[_-]?token|token|auth|"
    r"authorization|api[_-]?key|apikey|key|secret|client[_-]?secret|password|passwd|pwd|sig|signature|"
    r"x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|code)=)"
    r"(?P<value>[^&#;\s]*)",
    re.IGNORECASE,
)


def has_credentials(url: str) -> bool:
    return bool(_USERINFO.search(url) or any(m["value"] for m in _SECRET_PARAM.finditer(url)))


def strip(url: str) -> str:
    """``https://user:token@host/x?access_token=t&a=1`` -> ``https://host/x?a=1``
    (scp-like ``git@host:x`` is kept: that user is not a secret)."""
    without_user = _USERINFO.sub(r"\g<scheme>", url)
    cut = _SECRET_PARAM.sub(lambda m: m["key"][0] if m["key"][0] == "?" else "", without_user)
    return re.sub(r"\?(?:&|;)+", "?", cut).rstrip("?&;")


def redact(text: str) -> str:
    """``text`` (a URL, or a message that may hold some) with every
    credential masked as ``***``."""
    masked = _USERINFO.sub(r"\g<scheme>***@", text)
    return _SECRET_PARAM.sub(lambda m: m["key"] + "***" if m["value"] else m[0], masked)
