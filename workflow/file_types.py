"""Which files may be attached, told by name AND by content, and what a safe name is.

An extension is a claim; the first bytes are the evidence. A file is accepted when its
extension is listed here and its bytes match what the extension promises. Programs (by
their signature, whatever the name) and markup a browser would render (HTML, SVG, XML) are
refused outright, so a download can never run script or code on anyone's machine by
accident. Plain text must be UTF-8 without NUL bytes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from workflow.errors import InvalidInput

CHUNK = 64 * 1024
"""Bytes read at a time; the first chunk is what the content is judged by."""
MAX_NAME = 120


class UploadRefused(InvalidInput):
    """A file cannot be attached (its kind, its content, its size); nothing was kept."""


PROGRAMS = (
    b"MZ",  # Windows executables and DLLs
    b"\x7fELF",  # Linux and most Unix programs
    b"\xfe\xed\xfa\xce",  # Mach-O (macOS), both byte orders and 64-bit
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal binaries and Java classes
    b"#!",  # scripts for an interpreter
    b"\x00asm",  # WebAssembly
)
MARKUP_EXTENSIONS = {"html", "htm", "xhtml", "shtml", "svg", "svgz", "xml", "mht", "mhtml"}
MARKUP = re.compile(
    rb"<\s*(?:!doctype|html|head|body|script|svg|iframe|object|embed|meta|\?xml|xml)\b",
    re.IGNORECASE,
)


def _text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        # a chunk may end inside a character: only the last 3 bytes may be incomplete
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def _zip(head: bytes) -> bool:
    return head.startswith(b"PK\x03\x04")


@dataclass(frozen=True)
class Kind:
    label: str
    content_type: str
    matches: Callable[[bytes], bool]
    text: bool = False


_PNG = Kind("a PNG image", "image/png", lambda h: h.startswith(b"\x89PNG\r\n\x1a\n"))
_JPEG = Kind("a JPEG image", "image/jpeg", lambda h: h.startswith(b"\xff\xd8\xff"))
_TEXT = Kind("plain text", "text/plain; charset=utf-8", _text, text=True)
ALLOWED: dict[str, Kind] = {
    "png": _PNG,
    "jpg": _JPEG,
    "jpeg": _JPEG,
    "gif": Kind("a GIF image", "image/gif", lambda h: h[:6] in (b"GIF87a", b"GIF89a")),
    "webp": Kind("a WebP image", "image/webp", lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP"),
    "pdf": Kind("a PDF document", "application/pdf", lambda h: h.startswith(b"%PDF-")),
    "txt": _TEXT,
    "log": _TEXT,
    "csv": Kind("a CSV table", "text/csv; charset=utf-8", _text, text=True),
    "docx": Kind(
        "a Word document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _zip,
    ),
    "xlsx": Kind(
        "an Excel workbook",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _zip,
    ),
}


def extension_of(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def clean_filename(raw: str) -> str:
    """The name to show and offer on download: no folders, no control or direction-changing
    characters, nothing a shell or a header would trip over, at most MAX_NAME characters
    (the extension kept)."""
    name = unicodedata.normalize("NFKC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in "CZ" or ch == " ")
    name = re.sub(r'[<>:"|?*;%$`\'=]', "_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    ext = extension_of(name)
    if len(name) > MAX_NAME:
        keep = MAX_NAME - len(ext) - 1 if ext else MAX_NAME
        name = name[:keep].rstrip(" .") + (f".{ext}" if ext else "")
    return name or "attachment"


def check_content(name: str, ext: str, head: bytes) -> str:
    """The content type to store for a file called `name` starting with `head`, or
    InvalidInput saying in a sentence why it cannot be attached."""
    if any(head.startswith(sig) for sig in PROGRAMS):
        raise UploadRefused(f"“{name}” is a program or script; those cannot be attached.")
    kind = ALLOWED.get(ext)
    if ext in MARKUP_EXTENSIONS or (kind is not None and kind.text and MARKUP.search(head)):
        raise UploadRefused(
            f"“{name}” is a web page or contains web page or SVG markup, which cannot be "
            "attached; send a screenshot or a PDF instead."
        )
    if kind is None:
        allowed = ", ".join(sorted(ALLOWED))
        raise UploadRefused(f"“{name}” is not a kind of file we accept; attach one of: {allowed}.")
    if not kind.matches(head):
        raise UploadRefused(
            f"“{name}” is named like {kind.label} but its content is not; attach the original file."
        )
    return kind.content_type
