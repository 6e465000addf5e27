"""The page's files, ``/config.js`` and the security headers, as the local stack serves them.

Every file under ``web/`` is read once at start-up into a table keyed by its URL path: a
request path is only ever a key to look up, never a file-system path, so a NUL byte, a
255+ character segment or ``..`` cannot reach ``open()`` (they are 404s like any unknown path).

``web/security_headers.json`` is the one source of the page's security headers (CloudFront's
response headers policy reads it too): header name -> value, sent as written (the page calls
``/predict`` on its own origin, so the CSP's ``connect-src`` is ``'self'``, here as in AWS).
``Strict-Transport-Security`` is sent only when the public origin is https: browsers ignore it
over plain http (RFC 6797 section 8.1), and the demo is plain http.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WEB_DIR = ROOT / "web"
OPENAPI = ROOT / "docs" / "openapi.json"  # the API's contract, served at /openapi.json
HEADERS_FILE = WEB_DIR / "security_headers.json"
NOT_SERVED = {"security_headers.json"}  # configuration of the server, not part of the page
HSTS = "strict-transport-security"


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    cache_control: str


def security_headers(public_origin: str, path: Path = HEADERS_FILE) -> list[tuple[bytes, bytes]]:
    """The page's security headers as ASGI pairs; keys starting with ``_`` are comments."""
    spec: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    pairs = []
    for name, value in spec.items():
        if name.startswith("_") or (name.lower() == HSTS and not public_origin.startswith("https://")):
            continue
        pairs.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    return pairs


def _content_type(name: str) -> str:
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
        kind += "; charset=utf-8"
    return kind


def load_assets(schema: dict[str, Any], web_dir: Path = WEB_DIR) -> dict[str, Asset]:
    """URL path -> file: every regular file under ``web_dir`` (no symlinks out), config.js, openapi.json."""
    root = web_dir.resolve()
    assets: dict[str, Asset] = {}
    for file in sorted(root.rglob("*")):
        resolved = file.resolve()
        if not file.is_file() or root not in resolved.parents or file.name in NOT_SERVED:
            continue
        url = "/" + file.relative_to(root).as_posix()
        assets[url] = Asset(file.read_bytes(), _content_type(file.name), "no-cache")
    if "/index.html" in assets:
        assets["/"] = assets["/index.html"]
    # What Terraform writes to the website bucket: apiUrl "" (the page calls /predict on its own
    # origin, as it does behind CloudFront), so nothing here comes from the request's Host header.
    config = {"apiUrl": "", "schema": schema}
    script = f"window.CHURN_CONFIG = {json.dumps(config)};\n".encode()
    assets["/config.js"] = Asset(script, "text/javascript; charset=utf-8", "no-store")
    if OPENAPI.is_file():
        assets["/openapi.json"] = Asset(OPENAPI.read_bytes(), "application/json", "no-cache")
    return assets
