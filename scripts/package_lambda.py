"""Build the invoker Lambda zip, byte-for-byte reproducible.

    python scripts/package_lambda.py [--model build/model] [--out build/invoker.zip]

Contents (zip root): the ``.py`` files of ``functions/invoker/`` (``handler.py`` ->
handler string ``handler.handler``), ``ml/__init__.py``, ``ml/features/encoder.py``,
``ml/features/reasons.py`` and the bundle's ``feature_schema.json``. Standard library only
besides boto3 (in the Lambda runtime).
Entries are sorted, dated 1980-01-01, mode 0644, deflated at level 9: the same inputs
give the same bytes, so Terraform's ``source_code_hash`` changes only when the code does.
Prints the size and the base64 SHA-256 (``filebase64sha256``).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INVOKER_DIR = ROOT / "functions" / "invoker"
SHARED = ("ml/__init__.py", "ml/features/__init__.py", "ml/features/encoder.py", "ml/features/reasons.py")
HANDLER = "handler.handler"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def zip_entries(model_dir: Path) -> dict[str, bytes]:
    """Archive name -> bytes."""
    entries = {p.name: p.read_bytes() for p in sorted(INVOKER_DIR.glob("*.py"))}
    if "handler.py" not in entries:
        raise FileNotFoundError(INVOKER_DIR / "handler.py")
    for name in SHARED:
        entries[name] = (ROOT / name).read_bytes()
    schema_path = model_dir / "feature_schema.json"
    json.loads(schema_path.read_text(encoding="utf-8"))  # fail here, not in a cold start
    entries["feature_schema.json"] = schema_path.read_bytes()
    return entries


def build_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the mode bits below are honoured
            info.external_attr = 0o100644 << 16
            archive.writestr(info, entries[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buffer.getvalue()


def package(model_dir: Path, out: Path) -> tuple[int, str]:
    data = build_zip(zip_entries(model_dir))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return len(data), code_sha256(data)


def code_sha256(data: bytes) -> str:
    """The Lambda API's CodeSha256 of a zip: base64 of its SHA-256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "build" / "model", help="model bundle directory")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "invoker.zip")
    parser.add_argument("--json", action="store_true", help="print path, size, handler and hash as JSON")
    args = parser.parse_args(argv)
    try:
        size, digest = package(args.model, args.out)
    except (OSError, ValueError) as err:
        print(f"package_lambda: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"path": str(args.out), "size": size, "handler": HANDLER, "source_code_hash": digest}))
    else:
        print(f"{args.out}: {size} bytes, handler {HANDLER}, source_code_hash {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
