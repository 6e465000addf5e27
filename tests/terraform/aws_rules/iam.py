"""IAM roles, their trust and inline policies, and resource policies that let a service in."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.terraform.aws_rules.core import (
    Check,
    Plan,
    _as_list,
    _member,
    _policy_document,
    _services_without_source,
    _statements,
    _string_problem,
    rule,
    verdict,
)

# -- IAM ----------------------------------------------------------------------------------


@rule(
    "IAM-CONFUSED-DEPUTY",
    "A role that an AWS service assumes trusts it only with aws:SourceAccount or aws:SourceArn in "
    "the condition (cross-service confused deputy prevention).",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html",
)
def _iam_confused_deputy(plan: Plan) -> Check:
    for role in plan.resources("aws_iam_role"):
        policy, _exact = _policy_document(plan, role, "assume_role_policy")
        if policy is None:
            continue
        bad = _services_without_source(policy)
        if bad:
            yield (
                role.address,
                (
                    f"trusts {'; '.join(bad)} with no aws:SourceAccount / aws:SourceArn condition: any account's use "
                    "of that service could act through this role; add the condition with this account's ID"
                ),
            )
        else:
            yield role.address, None


@rule(
    "RESOURCE-POLICY-SOURCE",
    "A resource policy (Lambda permission, bucket policy) that lets an AWS service in names the source "
    "(source_arn / source_account; aws:SourceArn / aws:SourceAccount).",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html",
)
def _resource_policy_source(plan: Plan) -> Check:
    for perm in plan.resources("aws_lambda_permission"):
        principal = perm.get("principal")
        if not isinstance(principal, str) or not principal.endswith(".amazonaws.com"):
            continue
        if perm.get("source_arn") is None and perm.get("source_account") is None:
            yield (
                perm.address,
                f"lets {principal} invoke the function from any source: set source_arn (or source_account)",
            )
        else:
            yield perm.address, None
    for bp in plan.resources("aws_s3_bucket_policy"):
        policy, _exact = _policy_document(plan, bp, "policy")
        if policy is None:
            continue
        bad = _services_without_source(policy)
        yield bp.address, (f"allows {'; '.join(bad)} without aws:SourceArn / aws:SourceAccount" if bad else None)


@rule(
    "IAM-NAMES",
    "IAM role names are 1-64 characters of [\\w+=,.@-] (a name_prefix at most 38), paths / or /.../ up to "
    "512 characters, inline policy names 1-128 characters; max session 1-12 hours.",
    "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html",
)
def _iam_names(plan: Plan) -> Check:
    for role in plan.resources("aws_iam_role"):
        problems: list[str | None] = []
        name = role.get("name")
        if isinstance(name, str):
            problems.append(_string_problem(name, _member("iam", "CreateRole", "RoleName"), "role name"))
        elif isinstance(role.get("name_prefix"), str) and len(role.get("name_prefix")) > 38:
            problems.append(f"name_prefix {role.get('name_prefix')!r} is over 38 characters")
        if isinstance(role.get("path"), str):
            problems.append(_string_problem(role.get("path"), _member("iam", "CreateRole", "Path"), "path"))
        msd = role.get("max_session_duration")
        if isinstance(msd, int) and not 3600 <= msd <= 43200:
            problems.append(f"max_session_duration = {msd}: must be 3600-43200 seconds")
        yield verdict(role.address, problems)
    for pol in plan.resources("aws_iam_role_policy"):
        name = pol.get("name")
        if isinstance(name, str):
            yield pol.address, _string_problem(name, _member("iam", "PutRolePolicy", "PolicyName"), "policy name")


def _policy_chars(policy: dict[str, Any]) -> int:
    """IAM counts policy size without whitespace."""
    return len(re.sub(r"\s", "", json.dumps(policy, separators=(",", ":"))))


@rule(
    "IAM-POLICY-SIZE",
    "A role's trust policy is at most 2,048 characters and its inline policies together at most "
    "10,240 characters (whitespace not counted; the account's default quotas); a policy rendered only "
    "at apply is held to the characters its known parts already take.",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
)
def _iam_policy_size(plan: Plan) -> Check:
    inline: dict[str, tuple[int, bool]] = {}  # role name or address: (characters, exact)
    for pol in plan.resources("aws_iam_role_policy"):
        policy, exact = _policy_document(plan, pol, "policy")
        if policy is None:
            continue
        for key in {k for k in [pol.get("role"), *plan.references(pol, "role")] if isinstance(k, str)}:
            chars, all_exact = inline.get(key, (0, True))
            inline[key] = (chars + _policy_chars(policy), all_exact and exact)
    for role in plan.resources("aws_iam_role"):
        trust, exact = _policy_document(plan, role, "assume_role_policy")
        if trust is None:
            continue
        size = _policy_chars(trust)
        total, total_exact = inline.get(role.get("name")) or inline.get(role.address) or (0, True)
        if size > 2048:
            yield role.address, f"trust policy is {'' if exact else 'at least '}{size} characters, over the 2,048 quota"
        elif total > 10240:
            at_least = "" if total_exact else "at least "
            yield role.address, f"inline policies total {at_least}{total} characters, over the 10,240 quota"
        else:
            yield role.address, None


# -- IAM OpenID Connect (terraform/bootstrap) ---------------------------------------------


@rule(
    "IAM-OIDC-PROVIDER",
    "An OIDC identity provider's URL begins with https://, is at most 255 characters and has no query; it "
    "has at most 100 client IDs of 1-255 characters and at most 5 thumbprints of 40 hex characters.",
    "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html",
)
def _iam_oidc_provider(plan: Plan) -> Check:
    url_shape = _member("iam", "CreateOpenIDConnectProvider", "Url")
    client_id_shape = _member("iam", "CreateOpenIDConnectProvider", "ClientIDList").member
    for provider in plan.resources("aws_iam_openid_connect_provider"):
        problems: list[str | None] = []
        url, client_ids, thumbprints = (provider.get(a) for a in ("url", "client_id_list", "thumbprint_list"))
        if isinstance(url, str):
            if not url.startswith("https://"):
                problems.append(f"url {url!r} must begin with https://")
            elif "?" in url:
                problems.append(f"url {url!r} has a query: the OIDC issuer URL allows a path, not query parameters")
            problems.append(_string_problem(url, url_shape, "url"))
        if isinstance(client_ids, list):
            if len(client_ids) > 100:
                problems.append(f"{len(client_ids)} client IDs: IAM registers at most 100 per provider")
            problems += [_string_problem(c, client_id_shape, "client ID") for c in client_ids if isinstance(c, str)]
        if isinstance(thumbprints, list):
            if len(thumbprints) > 5:
                problems.append(f"{len(thumbprints)} thumbprints: IAM keeps at most 5 per provider")
            problems += [
                f"thumbprint {t!r} is not 40 hex characters (a SHA-1 fingerprint)"
                for t in thumbprints
                if isinstance(t, str) and not re.fullmatch(r"[0-9A-Fa-f]{40}", t)
            ]
        yield verdict(provider.address, problems)


GITHUB_OIDC = "token.actions.githubusercontent.com"
# One repository's one environment: no wildcard, nothing after the environment name.
GITHUB_ENVIRONMENT_SUB = re.compile(r"repo:[^/:*?]+/[^/:*?]+:environment:[^:*?]+")


def _trusts_github(plan: Plan, statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    federated = _as_list(principal.get("Federated")) if isinstance(principal, dict) else []
    keys = [k for operator in (statement.get("Condition") or {}).values() for k in operator]
    if any(f"oidc-provider/{GITHUB_OIDC}" in str(f) for f in federated) or any(
        k.startswith(f"{GITHUB_OIDC}:") for k in keys
    ):
        return True
    github_providers = [
        p for p in plan.resources("aws_iam_openid_connect_provider") if p.get("url") == f"https://{GITHUB_OIDC}"
    ]
    return "" in federated and bool(github_providers)  # the provider's ARN is only known after apply


@rule(
    "IAM-GITHUB-OIDC-TRUST",
    "A role that trusts GitHub's OIDC provider evaluates token.actions.githubusercontent.com:sub (IAM refuses "
    "the trust policy otherwise), with StringEquals to one repository's environment "
    "(repo:<owner>/<name>:environment:<env>): no wildcard, no other branch, pull request or repository.",
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_oidc_secure-by-default.html and "
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html#idp_oidc_Create_GitHub",
)
def _iam_github_oidc_trust(plan: Plan) -> Check:
    for role in plan.resources("aws_iam_role"):
        policy, _exact = _policy_document(plan, role, "assume_role_policy")
        if policy is None:
            continue
        for s in _statements(policy):
            if s.get("Effect") != "Allow" or not _trusts_github(plan, s):
                continue
            subs = {
                operator: _as_list(keys[f"{GITHUB_OIDC}:sub"])
                for operator, keys in (s.get("Condition") or {}).items()
                if f"{GITHUB_OIDC}:sub" in keys
            }
            if not subs:
                yield (
                    role.address,
                    (
                        f"trusts GitHub's OIDC provider without a {GITHUB_OIDC}:sub condition: IAM refuses the trust "
                        "policy, and without it any repository's workflow could assume the role"
                    ),
                )
            elif list(subs) != ["StringEquals"]:
                operators = sorted(subs)
                yield role.address, f"tests {GITHUB_OIDC}:sub with {operators}: pin it with StringEquals alone"
            elif bad := [v for v in subs["StringEquals"] if not GITHUB_ENVIRONMENT_SUB.fullmatch(str(v))]:
                yield (
                    role.address,
                    (
                        f"{GITHUB_OIDC}:sub {bad} is not one repository's environment "
                        "(repo:<owner>/<name>:environment:<env>, no wildcard)"
                    ),
                )
            else:
                yield role.address, None
