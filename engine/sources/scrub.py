"""Remove credentials from URLs and from any text that may quote one.

Cameras are often addressed as ``rtsp://user:password@host/stream`` or carry a token in the
query string. Those secrets must never reach a log line, an exception, an event or a metric
label, so every string that leaves a source goes through :func:`scrub_url` or
:func:`scrub_text` first.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query keys that carry secrets on common IP cameras and streaming servers.
_SECRET_KEYS = re.compile(
    r"^(pass(word|wd)?|pwd|token|access_?token|auth|authorization|key|api_?key|secret|"
    r"sig(nature)?|credentials?|user(name)?|login|session|sid)$",
    re.IGNORECASE,
)
# scheme://userinfo@  -> scheme://   (userinfo may itself contain ':' and '@').
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)[^\s/?#]*@")
# key=value pairs of secret keys anywhere in free text (query strings quoted in messages).
_SECRET_PAIR = re.compile(
    r"(?P<key>[?&;\s](?:pass(?:word|wd)?|pwd|token|access_?token|auth|authorization|api_?key|"
    r"key|secret|sig(?:nature)?|credentials?|user(?:name)?|login|session|sid)=)[^&\s#]*",
    re.IGNORECASE,
)
REDACTED = "***"


def scrub_url(url: str) -> str:
    """Return ``url`` without user name, password or secret query values.

    The user-info part is removed entirely (``rtsp://u:p@cam:554/s`` -> ``rtsp://cam:554/s``)
    and the values of secret-looking query keys (``password``, ``token``, ...) become ``***``.
    Strings that are not URLs (file paths, webcam indices) come back unchanged.

    Args:
        url: any source spec or URL.

    Returns:
        The same address with every credential removed.
    """
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode(
                [(k, REDACTED if _SECRET_KEYS.match(k) else v) for k, v in pairs], safe="*"
            )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        # Malformed (e.g. an unbalanced IPv6 bracket): fall back to the text scrubber.
        return scrub_text(url)


def scrub_text(text: str) -> str:
    """Remove URL credentials from free text such as an error message or a log line.

    Args:
        text: any string that might quote one or more URLs.

    Returns:
        ``text`` with every ``scheme://user:pass@`` reduced to ``scheme://`` and the values of
        secret-looking ``key=value`` query pairs replaced by ``***``.
    """
    text = _USERINFO.sub(r"\g<scheme>", text)
    return _SECRET_PAIR.sub(lambda m: m.group("key") + REDACTED, text)


def secrets_of(url: str) -> list[str]:
    """The credential strings contained in ``url`` (user, password, secret query values).

    Used to scrub messages produced by third-party code (FFmpeg, OpenCV) that might repeat a
    password without the surrounding URL.
    """
    if "://" not in url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [s for s in (parts.username, parts.password) if s]
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    found += [v for k, v in pairs if _SECRET_KEYS.match(k) and v]
    # Very short secrets would redact ordinary words; they are still removed from URLs above.
    return [s for s in found if len(s) >= 3]


def scrub_secrets(text: str, secrets: list[str]) -> str:
    """``scrub_text`` plus removal of the literal secrets of a known URL."""
    text = scrub_text(text)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text
