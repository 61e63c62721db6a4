"""Image dimensions from the file header, without decoding a pixel.

OpenCV has no header-only API in Python, and a decoder allocates the whole image before a
caller can look at its size: a 12000x12000 JPEG is 432 MB of BGR before the face detector's
pyramid multiplies it. :func:`image_dimensions` reads the width and height from the bytes of
the formats the runtime accepts (``IMAGE_SUFFIXES``), by their magic bytes, not their suffix,
so a mislabelled file is measured as what it is.
"""

from __future__ import annotations

import re
import struct

# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic); not DHT/JPG/DAC.
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
# Markers without a length field.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xDA)})
_PNM_TOKENS = re.compile(rb"(?:\s|#[^\n]*\n?)*(\d+)")


def _jpeg(data: memoryview) -> tuple[int, int] | None:
    pos = 2
    n = len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            return None
        marker = data[pos]
        pos += 1
        if marker in _STANDALONE:
            continue
        if pos + 2 > n:
            return None
        (length,) = struct.unpack_from(">H", data, pos)
        if marker in _SOF:
            if pos + 7 > n:
                return None
            height, width = struct.unpack_from(">HH", data, pos + 3)
            return width, height
        pos += length
    return None


def _bmp(data: bytes) -> tuple[int, int] | None:
    if len(data) < 26:
        return None
    (header,) = struct.unpack_from("<I", data, 14)
    if header == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack_from("<HH", data, 18)
        return width, height
    width, height = struct.unpack_from("<ii", data, 18)
    return abs(width), abs(height)  # a negative height is a top-down bitmap


def _webp(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if chunk == b"VP8L" and len(data) >= 25:
        (bits,) = struct.unpack_from("<I", data, 21)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(data) >= 30:
        w, h = struct.unpack_from("<HH", data, 26)
        return w & 0x3FFF, h & 0x3FFF
    return None


def _tiff(data: bytes) -> tuple[int, int] | None:
    order = "<" if data[:2] == b"II" else ">"
    if len(data) < 8:
        return None
    (ifd,) = struct.unpack_from(order + "I", data, 4)
    if ifd + 2 > len(data):
        return None
    (count,) = struct.unpack_from(order + "H", data, ifd)
    dims: dict[int, int] = {}
    for i in range(count):
        at = ifd + 2 + 12 * i
        if at + 12 > len(data):
            break
        tag, kind = struct.unpack_from(order + "HH", data, at)
        if tag in (256, 257):  # ImageWidth, ImageLength: SHORT (3) or LONG (4)
            fmt = "H" if kind == 3 else "I"
            (dims[tag],) = struct.unpack_from(order + fmt, data, at + 8)
    if 256 in dims and 257 in dims:
        return dims[256], dims[257]
    return None


def _jp2(data: bytes) -> tuple[int, int] | None:
    at = data.find(b"ihdr", 0, 4096)
    if at >= 0 and at + 12 <= len(data):
        height, width = struct.unpack_from(">II", data, at + 4)
        return width, height
    return None


def _j2k(data: bytes) -> tuple[int, int] | None:
    # Codestream: SOC (FF4F) then SIZ (FF51): Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz.
    if len(data) < 24:
        return None
    xsiz, ysiz, xo, yo = struct.unpack_from(">IIII", data, 8)
    return xsiz - xo, ysiz - yo


def _pnm(data: bytes) -> tuple[int, int] | None:
    first = _PNM_TOKENS.match(data, 2)
    if first is None:
        return None
    second = _PNM_TOKENS.match(data, first.end())
    if second is None:
        return None
    return int(first.group(1)), int(second.group(1))


def image_dimensions(buffer) -> tuple[int, int] | None:
    """``(width, height)`` from an encoded image's header, or None when it is not readable.

    Args:
        buffer: the file's bytes (``bytes`` or a uint8 numpy array; not copied for JPEG).

    Knows JPEG, PNG, GIF, BMP, WebP, TIFF, JPEG 2000 (file and codestream) and PNM; None for
    anything else or a header cut short (the decoder then decides what the file is).
    """
    view = memoryview(buffer).cast("B")
    # Every header but JPEG's sits in the first bytes; a JPEG's size comes after its APP
    # segments (EXIF, ICC profiles), which can be long: it is walked marker by marker.
    data = bytes(view[:65536])
    try:
        if data[:2] == b"\xff\xd8":
            return _jpeg(view)
        if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
            width, height = struct.unpack_from(">II", data, 16)
            return width, height
        if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
            width, height = struct.unpack_from("<HH", data, 6)
            return width, height
        if data[:2] == b"BM":
            return _bmp(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp(data)
        if data[:4] in (b"II*\x00", b"MM\x00*"):
            return _tiff(data)
        if data[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n":
            return _jp2(data)
        if data[:4] == b"\xff\x4f\xff\x51":
            return _j2k(data)
        if len(data) >= 3 and data[:1] == b"P" and data[1:2] in b"123456":
            return _pnm(data)
    except struct.error:
        return None
    return None
