"""The version constraints of every terraform/**/versions.tf, read statically (no terraform CLI needed)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.terraform.tf_helpers import ROOT, TF_DIR

Version = tuple[int, int, int]

# use_lockfile (S3-native state locking, `make init` with STATE_BUCKET) came in Terraform 1.10.
MIN_TERRAFORM: Version = (1, 10, 0)
# aws_iam_openid_connect_provider.thumbprint_list became optional in 5.81.0 (terraform-provider-aws
# #37255, "resource/aws_iam_openid_connect_provider: Make `thumbprint_list` optional"; 5.81.0 is of
# 2024-12-12); before it, a provider without thumbprint_list fails as a missing required argument.
THUMBPRINT_OPTIONAL: Version = (5, 81, 0)
# The one provider this machine's offline mirror holds (the design: pin a range that admits it).
MIRRORED_AWS: Version = (5, 100, 0)

VERSIONS_FILES = sorted(p for p in TF_DIR.rglob("versions.tf") if ".terraform" not in p.parts)

OPS: dict[str, Callable[[Version, Version], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "=": operator.eq,
    "!=": operator.ne,
}


def version(text: str) -> Version:
    major, minor, patch = ([int(p) for p in text.split(".")] + [0, 0])[:3]
    return major, minor, patch


def clauses(constraint: str) -> list[tuple[str, Version, int]]:
    """Each ", "-separated clause as (operator, version, how many parts were written)."""
    out = []
    for clause in constraint.split(","):
        match = re.fullmatch(r"\s*(>=|<=|!=|~>|>|<|=)?\s*(\d+(?:\.\d+){0,2})\s*", clause)
        assert match, f"cannot read the version constraint {constraint!r}"
        out.append((match.group(1) or "=", version(match.group(2)), match.group(2).count(".") + 1))
    return out


def admits(constraint: str, candidate: Version) -> bool:
    for op, bound, written in clauses(constraint):
        if op == "~>":  # ~> 5.81 means >= 5.81, < 6.0; ~> 5.81.0 means >= 5.81.0, < 5.82.0
            top = (bound[0] + 1, 0, 0) if written <= 2 else (bound[0], bound[1] + 1, 0)
            if not bound <= candidate < top:
                return False
        elif not OPS[op](candidate, bound):
            return False
    return True


def lower_bound(constraint: str) -> Version:
    bounds = [bound for op, bound, _ in clauses(constraint) if op in (">=", "=", "~>")]
    assert bounds, f"{constraint!r} has no lower bound"
    return max(bounds)


def terraform_block(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        blocks = hcl2.load(handle).get("terraform", [])
    assert len(blocks) == 1, f"{path}: expected one terraform block"
    return dict(blocks[0])


def unquote(value: str) -> str:
    return value.strip().strip('"')


def aws_constraint(path: Path) -> str:
    providers = terraform_block(path)["required_providers"][0]
    return unquote(providers["aws"]["version"])


def test_the_constraint_reader() -> None:
    assert admits(">= 5.81, < 6.0", (5, 100, 0)) and not admits(">= 5.81, < 6.0", (5, 80, 9))
    assert not admits(">= 5.81, < 6.0", (6, 0, 0)) and admits("~> 5.81", (5, 99, 1))
    assert not admits("~> 5.81.0", (5, 82, 0)) and lower_bound(">= 1.10") == (1, 10, 0)


def test_every_versions_file_was_found() -> None:
    found = {p.parent.relative_to(TF_DIR).as_posix() for p in VERSIONS_FILES}
    modules = {f"modules/{p.name}" for p in (TF_DIR / "modules").iterdir() if p.is_dir()}
    assert {".", "bootstrap", *modules} <= found, sorted(found)


@pytest.mark.parametrize("path", VERSIONS_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_terraform_is_at_least_1_10(path: Path) -> None:
    """`make init` uses the S3 backend's use_lockfile, which Terraform before 1.10 rejects."""
    required = unquote(terraform_block(path)["required_version"])
    assert lower_bound(required) >= MIN_TERRAFORM, f"{path.relative_to(ROOT)}: required_version {required!r}"


def test_bootstrap_aws_lower_bound_has_optional_thumbprint_list() -> None:
    """bootstrap/ creates aws_iam_openid_connect_provider without thumbprint_list: the provider's lower bound
    must be the release that made it optional, and the range must still admit the mirrored 5.100.0."""
    with open(TF_DIR / "bootstrap" / "github.tf", encoding="utf-8") as handle:
        resources = hcl2.load(handle).get("resource", [])
    oidc = [body for r in resources for body in r.get('"aws_iam_openid_connect_provider"', {}).values()]
    relies_on_optional = any("thumbprint_list" not in body for body in oidc)
    constraint = aws_constraint(TF_DIR / "bootstrap" / "versions.tf")
    if relies_on_optional:
        assert lower_bound(constraint) >= THUMBPRINT_OPTIONAL, (
            f"bootstrap/versions.tf admits hashicorp/aws {constraint!r}, but releases before 5.81.0 require the"
            " thumbprint_list that bootstrap/github.tf leaves out"
        )
    assert admits(constraint, MIRRORED_AWS) and not admits(constraint, (6, 0, 0)), constraint


@pytest.mark.parametrize("path", VERSIONS_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_aws_range_admits_the_mirrored_provider(path: Path) -> None:
    assert admits(aws_constraint(path), MIRRORED_AWS), path.relative_to(ROOT).as_posix()
