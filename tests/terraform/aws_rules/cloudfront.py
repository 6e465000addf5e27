"""CloudFront: the page's distribution (its S3 and API origins, its cache behaviors), its origin
access control and response headers policy."""

from __future__ import annotations

import re
from typing import Any

from tests.terraform.aws_rules.core import (
    UNKNOWN,
    Check,
    Plan,
    Resource,
    _as_list,
    _policy_document,
    _service_principals,
    _shape,
    _statements,
    rule,
    verdict,
)

CF_API = "https://docs.aws.amazon.com/cloudfront/latest/APIReference"
CF_QUOTAS = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html"


def _enum_problem(value: Any, shape_name: str, what: str) -> str | None:
    allowed = _shape("cloudfront", shape_name).enum
    if isinstance(value, str) and value not in allowed:
        return f"{what} {value!r} is not one of {', '.join(allowed)}"
    return None


@rule(
    "CF-DISTRIBUTION",
    "A distribution's comment is at most 128 characters, its default root object does not begin with /, its "
    "price class, HTTP version and viewer protocol policies are values CloudFront accepts, and each origin "
    "makes 1-3 connection attempts with a 1-10 s connection timeout.",
    f"{CF_API}/API_DistributionConfig.html and {CF_API}/API_Origin.html",
)
def _cf_distribution(plan: Plan) -> Check:
    for d in plan.resources("aws_cloudfront_distribution"):
        comment, root = d.get("comment"), d.get("default_root_object")
        problems = [
            _enum_problem(d.get("price_class"), "PriceClass", "price_class"),
            _enum_problem(d.get("http_version"), "HttpVersion", "http_version"),
        ]
        if isinstance(comment, str) and len(comment) > 128:
            problems.append(f"comment is {len(comment)} characters: CloudFront allows 128")
        if isinstance(root, str) and root.startswith("/"):
            problems.append(f"default_root_object {root!r} can't begin with a forward slash: name the object alone")
        for behavior in _as_list(d.get("default_cache_behavior")) + _as_list(d.get("ordered_cache_behavior")):
            policy = behavior.get("viewer_protocol_policy")
            problems.append(_enum_problem(policy, "ViewerProtocolPolicy", "viewer_protocol_policy"))
        for origin in _as_list(d.get("origin")):
            attempts, timeout = origin.get("connection_attempts"), origin.get("connection_timeout")
            if isinstance(attempts, int) and not 1 <= attempts <= 3:
                problems.append(f"origin {origin.get('origin_id')!r}: connection_attempts = {attempts}, not 1-3")
            if isinstance(timeout, int) and not 1 <= timeout <= 10:
                problems.append(f"origin {origin.get('origin_id')!r}: connection_timeout = {timeout} s, not 1-10")
        yield verdict(d.address, problems)


# bucket.s3.region.amazonaws.com (the REST endpoint); not bucket.s3-website-region... (a custom origin).
S3_REST_DOMAIN = re.compile(r".+\.s3(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?")


def _s3_origin_buckets(plan: Plan, d: Resource, i: int, origin: dict[str, Any]) -> list[str] | None:
    """Addresses of the planned buckets an S3 REST origin reads ([] if outside the plan), or None: not S3."""
    if _as_list(origin.get("custom_origin_config")):
        return None  # a custom origin (the HTTP API): not read through S3's REST API
    domain = origin.get("domain_name")
    referenced = [a for a in plan.references(d, "origin", i, "domain_name") if ".aws_s3_bucket." in f".{a}"]
    if isinstance(domain, str):
        return referenced if S3_REST_DOMAIN.fullmatch(domain) and "s3-website" not in domain else None
    return referenced or None


def _access_control(plan: Plan, d: Resource, i: int, oac_id: Any) -> Resource | None:
    """The planned origin access control an origin names (by its id, or by reference before it has one)."""
    controls = plan.resources("aws_cloudfront_origin_access_control")
    if isinstance(oac_id, str):
        return next((c for c in controls if c.get("id") == oac_id), None)
    addresses = plan.references(d, "origin", i, "origin_access_control_id")
    return next((c for c in controls if c.address in addresses), None)


def _lets_cloudfront_read(plan: Plan, buckets: list[str]) -> bool | None:
    """Whether the buckets' planned policy allows cloudfront.amazonaws.com s3:GetObject (None: not known yet)."""
    for bp in plan.resources("aws_s3_bucket_policy"):
        if not set(plan.references(bp, "bucket")) & set(buckets):
            continue
        policy, _exact = _policy_document(plan, bp, "policy")
        if policy is None:
            return None
        return any(
            s.get("Effect") == "Allow"
            and "cloudfront.amazonaws.com" in _service_principals(s)
            and {"s3:GetObject", "s3:*", "*"} & set(_as_list(s.get("Action")))
            for s in _statements(policy)
        )
    return None


@rule(
    "CF-S3-ORIGIN-OAC",
    "An S3 bucket origin (the REST endpoint) is read through an origin access control of type s3, and the "
    "bucket policy lets the cloudfront.amazonaws.com service principal s3:GetObject; else CloudFront gets 403.",
    "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html",
)
def _cf_s3_origin_oac(plan: Plan) -> Check:
    for d in plan.resources("aws_cloudfront_distribution"):
        for i, origin in enumerate(_as_list(d.get("origin"))):
            buckets = _s3_origin_buckets(plan, d, i, origin)
            if buckets is None:
                continue
            oac_id = d.get("origin", i, "origin_access_control_id")
            oac = _access_control(plan, d, i, None if oac_id is UNKNOWN else oac_id)
            name = origin.get("origin_id")
            if oac_id in (None, "") and not origin.get("s3_origin_config"):
                yield d.address, f"origin {name!r} reads an S3 bucket without an origin access control: set one"
            elif oac is not None and oac.get("origin_access_control_origin_type") != "s3":
                kind = oac.get("origin_access_control_origin_type")
                yield d.address, f"origin {name!r} uses {oac.address} of type {kind!r}: an S3 origin needs type s3"
            elif _lets_cloudfront_read(plan, buckets) is False:
                yield (
                    d.address,
                    f"origin {name!r}: the bucket policy does not allow cloudfront.amazonaws.com s3:GetObject",
                )
            else:
                yield d.address, None


@rule(
    "CF-ORIGIN-ACCESS-CONTROL",
    "An origin access control's name is at most 64 characters; its signing behavior, signing protocol and "
    "origin type are values CloudFront accepts.",
    f"{CF_API}/API_OriginAccessControlConfig.html",
)
def _cf_origin_access_control(plan: Plan) -> Check:
    for oac in plan.resources("aws_cloudfront_origin_access_control"):
        name = oac.get("name")
        problems = [
            _enum_problem(oac.get("signing_behavior"), "OriginAccessControlSigningBehaviors", "signing_behavior"),
            _enum_problem(oac.get("signing_protocol"), "OriginAccessControlSigningProtocols", "signing_protocol"),
            _enum_problem(
                oac.get("origin_access_control_origin_type"),
                "OriginAccessControlOriginTypes",
                "origin_access_control_origin_type",
            ),
        ]
        if isinstance(name, str) and not 1 <= len(name) <= 64:
            problems.append(f"name {name!r} is {len(name)} characters: CloudFront allows up to 64")
        yield verdict(oac.address, problems)


# The only method sets CloudFront accepts: AllowedMethods.Quantity is 2, 3 or 7, CachedMethods 2 or 3.
ALLOWED_METHOD_SETS = (
    frozenset({"GET", "HEAD"}),
    frozenset({"GET", "HEAD", "OPTIONS"}),
    frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}),
)
CACHED_METHOD_SETS = ALLOWED_METHOD_SETS[:2]


def _methods(value: Any) -> frozenset[str] | None:
    items = _as_list(value)
    return frozenset(items) if items and all(isinstance(m, str) for m in items) else None


@rule(
    "CF-CACHE-BEHAVIOR",
    "Each cache behavior routes to an origin of its own distribution, allows one of CloudFront's three method "
    "sets (GET+HEAD; +OPTIONS; +PUT, PATCH, POST, DELETE: the only one with POST) and caches GET+HEAD or "
    "GET+HEAD+OPTIONS, among the methods it allows.",
    f"{CF_API}/API_CacheBehavior.html and {CF_API}/API_AllowedMethods.html and {CF_API}/API_CachedMethods.html",
)
def _cf_cache_behavior(plan: Plan) -> Check:
    for d in plan.resources("aws_cloudfront_distribution"):
        origin_ids = [o.get("origin_id") for o in _as_list(d.get("origin"))]
        known_ids = all(isinstance(i, str) for i in origin_ids)
        problems: list[str | None] = []
        for behavior in _as_list(d.get("default_cache_behavior")) + _as_list(d.get("ordered_cache_behavior")):
            where = f"cache behavior {behavior.get('path_pattern') or '(default)'!r}"
            target = behavior.get("target_origin_id")
            if known_ids and isinstance(target, str) and target not in origin_ids:
                problems.append(f"{where} routes to origin {target!r}, which the distribution does not have")
            allowed, cached = _methods(behavior.get("allowed_methods")), _methods(behavior.get("cached_methods"))
            if allowed is not None and allowed not in ALLOWED_METHOD_SETS:
                problems.append(
                    f"{where} allows {sorted(allowed)}: not one of CloudFront's three sets "
                    "(GET+HEAD, GET+HEAD+OPTIONS, or all seven with POST)"
                )
            if cached is not None and cached not in CACHED_METHOD_SETS:
                problems.append(f"{where} caches {sorted(cached)}: CloudFront caches GET+HEAD or GET+HEAD+OPTIONS")
            elif cached is not None and allowed is not None and not cached <= allowed:
                problems.append(f"{where} caches {sorted(cached - allowed)}, which it does not allow")
        yield verdict(d.address, problems)


@rule(
    "CF-CUSTOM-ORIGIN",
    "A custom origin's protocol policy and minimum TLS version are values CloudFront accepts, and its response "
    "and keep-alive timeouts are 1-120 s.",
    f"{CF_API}/API_CustomOriginConfig.html",
)
def _cf_custom_origin(plan: Plan) -> Check:
    for d in plan.resources("aws_cloudfront_distribution"):
        for origin in _as_list(d.get("origin")):
            for config in _as_list(origin.get("custom_origin_config")):
                name = origin.get("origin_id")
                problems = [
                    _enum_problem(
                        config.get("origin_protocol_policy"), "OriginProtocolPolicy", "origin_protocol_policy"
                    )
                ]
                problems += [
                    _enum_problem(protocol, "SslProtocol", "origin_ssl_protocols")
                    for protocol in _as_list(config.get("origin_ssl_protocols"))
                ]
                for key in ("origin_read_timeout", "origin_keepalive_timeout"):
                    seconds = config.get(key)
                    if isinstance(seconds, int) and not 1 <= seconds <= 120:
                        problems.append(f"{key} = {seconds} s: CloudFront allows 1-120")
                yield verdict(d.address, [f"origin {name!r}: {p}" for p in problems if p])


# CloudFront manages these itself; a policy that removes one is refused.
UNREMOVABLE_HEADERS = re.compile(
    r"connection|content-encoding|content-length|expect|host|keep-alive|proxy-authenticate|proxy-authorization"
    r"|proxy-connection|trailer|transfer-encoding|upgrade|via|warning|x-accel-(buffering|charset|limit-rate|redirect)"
    r"|x-amz-cf-.*|x-amzn-(auth|cf-billing|cf-id|cf-xff|errortype|fle-profile|header-count|header-order"
    r"|lambda-integration-tag|requestid)|x-cache|x-edge-.*|x-forwarded-proto|x-real-ip",
    re.IGNORECASE,
)


def _security_headers(policy: Resource) -> dict[str, Any]:
    config = _as_list(policy.get("security_headers_config"))
    return config[0] if config and isinstance(config[0], dict) else {}


@rule(
    "CF-RESPONSE-HEADERS-POLICY",
    "A response headers policy's comment is at most 128 characters; X-Frame-Options and Referrer-Policy take "
    "CloudFront's values; X-XSS-Protection has mode=block or a report URI, not both; the Server-Timing sampling "
    "rate is 0-100; no header CloudFront manages itself (Content-Length, Via, X-Amz-Cf-*, ...) is removed.",
    f"{CF_API}/API_ResponseHeadersPolicyConfig.html and "
    "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/understanding-response-headers-policies.html",
)
def _cf_response_headers_policy(plan: Plan) -> Check:
    for policy in plan.resources("aws_cloudfront_response_headers_policy"):
        comment, security = policy.get("comment"), _security_headers(policy)
        problems: list[str | None] = []
        if isinstance(comment, str) and len(comment) > 128:
            problems.append(f"comment is {len(comment)} characters: CloudFront allows 128")
        for frame in _as_list(security.get("frame_options")):
            problems.append(_enum_problem(frame.get("frame_option"), "FrameOptionsList", "frame_option"))
        for referrer in _as_list(security.get("referrer_policy")):
            problems.append(_enum_problem(referrer.get("referrer_policy"), "ReferrerPolicyList", "referrer_policy"))
        for xss in _as_list(security.get("xss_protection")):
            if xss.get("mode_block") is True and xss.get("report_uri"):
                problems.append("xss_protection: you cannot specify a report_uri when mode_block is true")
        for timing in _as_list(policy.get("server_timing_headers_config")):
            rate = timing.get("sampling_rate")
            if isinstance(rate, (int, float)) and not 0 <= rate <= 100:
                problems.append(f"server timing sampling_rate = {rate}: must be 0-100")
        for config in _as_list(policy.get("remove_headers_config")):
            for item in _as_list(config.get("items")):
                header = item.get("header")
                if isinstance(header, str) and UNREMOVABLE_HEADERS.fullmatch(header):
                    problems.append(f"remove_headers_config removes {header!r}: CloudFront does not let it go")
        yield verdict(policy.address, problems)


@rule(
    "CF-RESPONSE-HEADERS-QUOTAS",
    "A response headers policy's Content-Security-Policy value is at most 1,783 characters; it adds at most 10 "
    "custom headers, each name at most 256 and each value at most 1,783 characters, 10,240 in all.",
    CF_QUOTAS,
)
def _cf_response_headers_quotas(plan: Plan) -> Check:
    for policy in plan.resources("aws_cloudfront_response_headers_policy"):
        problems = []
        for csp in _as_list(_security_headers(policy).get("content_security_policy")):
            value = csp.get("content_security_policy")
            if isinstance(value, str) and len(value) > 1783:
                problems.append(f"Content-Security-Policy is {len(value)} characters, over the quota of 1,783")
        headers = [h for c in _as_list(policy.get("custom_headers_config")) for h in _as_list(c.get("items"))]
        if len(headers) > 10:
            problems.append(f"{len(headers)} custom headers, over the quota of 10 per policy")
        names = [h.get("header") for h in headers if isinstance(h.get("header"), str)]
        values = [h.get("value") for h in headers if isinstance(h.get("value"), str)]
        problems += [f"custom header name {n[:40]!r}... is over 256 characters" for n in names if len(n) > 256]
        problems += [f"a custom header value is {len(v)} characters, over 1,783" for v in values if len(v) > 1783]
        if sum(map(len, names + values)) > 10240:
            problems.append(
                f"custom header names and values total {sum(map(len, names + values))} characters, over 10,240"
            )
        yield policy.address, "; ".join(problems) if problems else None
