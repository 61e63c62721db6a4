"""Remove credentials from URLs and from any text that may quote one: :func:`redact`.

Cameras carry secrets in many places, and every one of them must stay out of stream names,
log lines, exceptions, events, CSV rows and metric labels:

* user-info: ``rtsp://user:password@host/s`` (also with ``@``, ``#``, ``?`` or ``/`` typed raw
  inside the password: the user-info ends at the *last* ``@`` of the URL);
* query pairs: ``?password=...``, ``&token=...``, ``?access_token=...``;
* path-style pairs of DVRs: ``rtsp://host/user=admin&password=x&channel=1&stream=0.sdp`` and
  ``rtsp://host/user=admin_password=x_channel=1_stream=0.sdp``;
* the same pairs percent-encoded (``password%3Dx``, ``pass%77ord=x``, double-encoded too).

:func:`redact` is the one implementation; ``scrub_url`` and ``scrub_text`` are its older names.
It errs towards removing too much: a URL with a raw ``@`` in its path loses what precedes it.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

REDACTED = "***"

# Keys whose values are secrets on common IP cameras, DVRs and streaming servers. A key also
# matches as the tail of a longer one after a non-alphanumeric (``stream_key``, ``x-token``).
_KEYS = (r"pass(?:word|wd|phrase)?|pwd|pw|psw|token|access_?token|auth|authorization|"
         r"api_?key|key|secret|sig(?:nature)?|credentials?|user(?:name)?|usr|login|"
         r"session|sid|jwt")
# key=value: the key starts after a non-alphanumeric (or at the start); the value runs up to
# the next ``<sep>word=`` pair, whitespace or the end. Stopping only at the next *pair* (not
# at the first '&' or '_') keeps a raw '&', '_' or '#' inside a password from leaking its tail.
_PAIR = re.compile(
    rf"(?<![A-Za-z0-9])(?P<key>(?:{_KEYS})=)(?P<value>.*?)(?=[&;_/?#,][A-Za-z][\w.\-]*=|\s|$)",
    re.IGNORECASE,
)
# A URL inside free text: scheme://, then anything up to whitespace or a closing quote.
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>]*")
_DECODE_ROUNDS = 3  # percent-encoding nested deeper than this is not a credential form


def _strip_userinfo(url: str) -> str:
    """``scheme://anything@host...`` -> ``scheme://host...`` (cut at the last '@')."""
    head, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    return head + sep + rest.rpartition("@")[2]


def _redact_pairs(text: str) -> str:
    return _PAIR.sub(lambda m: m.group("key") + REDACTED, text)


def _redact_once(text: str) -> str:
    text = _URL.sub(lambda m: _strip_userinfo(m.group(0)), text)
    return _redact_pairs(text)


def redact(text: str) -> str:
    """Return ``text`` with every credential removed (a URL, a stream name or a message).

    User-info is removed entirely (``rtsp://u:p@cam:554/s`` -> ``rtsp://cam:554/s``); values
    of secret-looking ``key=value`` pairs become ``***`` wherever they are (query, path, free
    text). When only a percent-decoded view reveals a pair (``password%3Dx``), the decoded
    text is returned, redacted. Strings without credentials come back unchanged.

    Args:
        text: any source spec, URL, stream name or message.

    Returns:
        The same text with no credential in it.
    """
    text = str(text)
    out = _redact_once(text)
    view = out
    for _ in range(_DECODE_ROUNDS):
        decoded = unquote(view)
        if decoded == view:
            break
        view = decoded
        if _redact_pairs(view) != view:
            # An encoded secret: the decoded form is the only one in which it can be cut out.
            return _redact_once(view)
    return out


def scrub_url(url: str) -> str:
    """Older name of :func:`redact` (a URL or source spec)."""
    return redact(url)


def scrub_text(text: str) -> str:
    """Older name of :func:`redact` (free text quoting URLs)."""
    return redact(text)


def secrets_of(url: str) -> list[str]:
    """The credential strings inside ``url`` (user, password, secret pair values).

    Used to scrub messages produced by third-party code (FFmpeg, OpenCV) that might repeat a
    password without the surrounding URL. Both the raw and the percent-decoded forms are
    returned.
    """
    if "://" not in url:
        return []
    found: list[str] = []
    rest = url.partition("://")[2]
    if "@" in rest:
        userinfo = rest.rpartition("@")[0]
        user, _, password = userinfo.partition(":")
        found += [userinfo, user, password]
    views = [url]
    for _ in range(_DECODE_ROUNDS):
        views.append(unquote(views[-1]))
    for view in views:
        found += [m.group("value") for m in _PAIR.finditer(view)]
    found += [unquote(s) for s in found]
    # Very short secrets would redact ordinary words; they are still removed from URLs above.
    unique = {s for s in found if len(s) >= 3}
    return sorted(unique, key=len, reverse=True)  # longest first: no partial replacement


def scrub_secrets(text: str, secrets: list[str]) -> str:
    """:func:`redact` plus removal of the literal secrets of a known URL."""
    text = redact(text)
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text
