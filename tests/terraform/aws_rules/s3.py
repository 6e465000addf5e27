"""S3 buckets, objects, bucket policies and lifecycle rules."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.terraform.aws_rules.core import (
    Check,
    Plan,
    _as_list,
    _policy_document,
    _statements,
    rule,
)

# -- S3 -----------------------------------------------------------------------------------


def _bucket_name_problem(name: str) -> str | None:
    if not 3 <= len(name) <= 63:
        return f"bucket name {name!r} is {len(name)} characters: 3-63 allowed"
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name):
        return f"bucket name {name!r}: only a-z, 0-9, '.', '-', starting and ending with a letter or digit"
    if ".." in name or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return f"bucket name {name!r}: no adjacent periods, not an IP address"
    if name.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or name.endswith(
        ("-s3alias", "--ol-s3", ".mrap", "--x-s3")
    ):
        return f"bucket name {name!r} uses a prefix or suffix S3 reserves"
    return None


@rule(
    "S3-BUCKET-NAME",
    "Bucket names are 3-63 characters of a-z, 0-9, '.' and '-', begin and end with a letter or digit, "
    "avoid reserved prefixes and suffixes; a bucket_prefix leaves 26 characters for Terraform's suffix.",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
)
def _s3_bucket_name(plan: Plan) -> Check:
    for b in plan.resources("aws_s3_bucket"):
        name, prefix = b.get("bucket"), b.get("bucket_prefix")
        if isinstance(name, str):
            yield b.address, _bucket_name_problem(name)
        elif isinstance(prefix, str):
            if len(prefix) > 37:
                yield b.address, f"bucket_prefix {prefix!r} is over 37 characters (63 minus the 26 Terraform appends)"
            else:
                yield b.address, _bucket_name_problem(prefix + "20250101000000000000000001")


@rule(
    "S3-OBJECT-KEY",
    "Object keys are 1-1,024 bytes of UTF-8.",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html",
)
def _s3_object_key(plan: Plan) -> Check:
    for o in plan.resources("aws_s3_object"):
        key = o.get("key")
        if isinstance(key, str):
            n = len(key.encode())
            yield o.address, (f"key is {n} bytes: S3 allows 1-1,024" if not 1 <= n <= 1024 else None)


def _is_public_statement(s: dict[str, Any]) -> bool:
    principal = s.get("Principal")
    everyone = principal == "*" or (isinstance(principal, dict) and "*" in _as_list(principal.get("AWS")))
    return s.get("Effect") == "Allow" and everyone and not s.get("Condition")


@rule(
    "S3-BUCKET-POLICY",
    "A bucket policy is at most 20 KB, and a public one (Allow to * without conditions) is refused "
    "while the bucket's Block Public Access blocks public policies.",
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html",
)
def _s3_bucket_policy(plan: Plan) -> Check:
    blocks = {}
    for pab in plan.resources("aws_s3_bucket_public_access_block"):
        blocks[pab.get("bucket")] = pab.get("block_public_policy") is True
        for address in plan.references(pab, "bucket"):
            blocks[address] = pab.get("block_public_policy") is True
    for bp in plan.resources("aws_s3_bucket_policy"):
        policy, exact = _policy_document(plan, bp, "policy")
        if policy is None:
            continue
        size = len(bp.get("policy").encode()) if exact else len(json.dumps(policy, separators=(",", ":")))
        keys = [bp.get("bucket"), *plan.references(bp, "bucket")]
        blocked = any(blocks.get(k) for k in keys if isinstance(k, str))
        public = [s.get("Sid", "(no Sid)") for s in _statements(policy) if _is_public_statement(s)]
        if size > 20 * 1024:
            yield bp.address, f"policy is {'' if exact else 'at least '}{size} bytes, over S3's 20 KB"
        elif public and blocked:
            yield (
                bp.address,
                (
                    f"statements {public} make the policy public, but the bucket's public access block has "
                    "block_public_policy = true: PutBucketPolicy is refused (AccessDenied)"
                ),
            )
        else:
            yield bp.address, None


@rule(
    "S3-LIFECYCLE",
    "Lifecycle day counts (expiration, noncurrent version expiration, abort incomplete upload) are positive.",
    "https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html",
)
def _s3_lifecycle(plan: Plan) -> Check:
    for lc in plan.resources("aws_s3_bucket_lifecycle_configuration"):
        bad = []
        for r in _as_list(lc.get("rule")):
            for block, attr in (
                ("noncurrent_version_expiration", "noncurrent_days"),
                ("abort_incomplete_multipart_upload", "days_after_initiation"),
                ("expiration", "days"),
            ):
                for b in _as_list(r.get(block)):
                    days = b.get(attr)
                    if (
                        isinstance(days, int)
                        and days < 1
                        and not (block == "expiration" and days == 0 and b.get("date"))
                    ):
                        bad.append(f"{r.get('id')}: {block}.{attr} = {days}")
        yield lc.address, (f"day counts must be positive: {bad}" if bad else None)
