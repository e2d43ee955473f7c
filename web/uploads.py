"""Files from a multipart form, handed to the domain's attachment store, and sent back.

Forms name their file input `attachments` (several files allowed). The store's folder and
limits come from the app's configuration (ATTACHMENT_DIR, ATTACHMENT_MAX_BYTES,
ATTACHMENT_MAX_FILES) at request time; Werkzeug cuts off a request larger than
MAX_CONTENT_LENGTH with 413 before anything is read.
"""

from __future__ import annotations

from pathlib import Path

from flask import Response, current_app, request, send_file

from workflow.attachments import Store, Upload
from workflow.file_types import ALLOWED
from workflow.models import Attachment

FIELD = "attachments"


def store() -> Store:
    config = current_app.config
    root = config.get("ATTACHMENT_DIR") or str(Path(current_app.instance_path) / "attachments")
    return Store(
        Path(root),
        max_bytes=int(config["ATTACHMENT_MAX_BYTES"]),
        max_files=int(config["ATTACHMENT_MAX_FILES"]),
    )


def limits() -> dict[str, object]:
    """What the file inputs tell people (and their `accept` list)."""
    config = current_app.config
    return {
        "megabytes": f"{int(config['ATTACHMENT_MAX_BYTES']) / (1024 * 1024):g}",
        "files": int(config["ATTACHMENT_MAX_FILES"]),
        "accept": ",".join(f".{ext}" for ext in sorted(ALLOWED)),
    }


def from_request() -> list[Upload]:
    """The files the form sent (an empty file input sends one nameless part: skipped)."""
    return [Upload(f.filename, f.stream) for f in request.files.getlist(FIELD) if f.filename]


def download(attachment: Attachment, path: Path) -> Response:
    """The file as a download, never rendered in the page's origin: `attachment`
    disposition, the type we sniffed when it arrived, no sniffing by the browser, and a
    sandbox in case a browser renders it anyway."""
    response = send_file(
        path,
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        max_age=0,
        etag=False,
        conditional=False,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
