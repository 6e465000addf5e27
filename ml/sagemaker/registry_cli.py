"""`python -m ml registry list | compare A B | approve N | handoff [N] | rollback prepare|finish`.

The commands of ml.sagemaker.registry (versions), ml.sagemaker.approval (compare, approve) and
ml.sagemaker.release (deploying a version, rolling back); the Makefile's approve, deploy-model
and rollback targets call them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from ml.sagemaker import approval, registry, release, tf_outputs
from ml.sagemaker.aws import Aws, run_cli
from ml.sagemaker.tf_outputs import SetupError


def _approve(aws: Aws, group: str, args: argparse.Namespace, workdir: Path) -> int:
    number = release.version_number(args.version, args.model)
    if number is None:
        raise SetupError("approve needs a version: VERSION=N, or VERSION=trained")
    try:
        v = approval.approve(aws, group, number, args.note, args.force, workdir)
    except approval.Refused as err:  # a decision, not a setup problem: exit 1
        print(f"refused: {err}", file=sys.stderr)
        return 1
    print(f"version {v.number} approved: {v.note}")
    return 0


def _handoff(aws: Aws, group: str, version: str, bundle_dir: Path) -> registry.Version:
    found = registry.versions(aws, group)
    v = release.deployable(found, release.version_number(version, bundle_dir))
    path, values = release.write_handoff(aws, v, bundle_dir, found)
    print(f"version   {v.number} ({v.status} {v.approved_at}: {v.note})")
    print(f"model     {v.model_url}, cutoff {values['decision_cutoff']:.2f}")
    print(f"handoff   {path}, {bundle_dir}/ and {values['lambda_zip_path']} from the registry")
    return v


def _rollback(aws: Aws, group: str, args: argparse.Namespace) -> int:
    if args.stage == "prepare":
        endpoint = tf_outputs.resolve("endpoint_name", args.endpoint_name)
        found = registry.versions(aws, group)
        left, to = release.rollback_pair(found, release.serving_package(aws, endpoint))
        registry.check_note(registry.rollback_note(to.number, args.note, "YYYY-MM-DD"))  # before the apply
        print(f"rollback  {endpoint} serves version {left.number}: back to version {to.number}")
        _handoff(aws, group, str(to.number), args.model)
        release.record_rollback(args.model, left, to)
        return 0
    record = release.take_rollback(args.model)
    left = registry.find(registry.versions(aws, group), record["from"])
    note = registry.rollback_note(record["to"], args.note, datetime.now(UTC).strftime("%Y-%m-%d"))
    registry.reject(aws, left, note)
    print(f"version {left.number} Rejected ({note}); version {record['to']} serves")
    return 0


def main(args: argparse.Namespace) -> int:
    def run() -> int:
        group = tf_outputs.resolve("model_package_group", args.group)
        aws = Aws.create(args.region)
        with tempfile.TemporaryDirectory() as tmp:
            if args.action == "list":
                found = registry.versions(aws, group)
                print(registry.listing(found) if found else f"no versions in {group} yet (make train, make publish)")
            elif args.action == "compare":
                found = registry.versions(aws, group)
                a, b = registry.find(found, args.a), registry.find(found, args.b)
                mine, theirs = approval.compare(aws, a, b, Path(tmp))
                print(approval.comparison_text(mine, theirs, approval.split_of(a, b)))
            elif args.action == "purge":
                print(f"registry  {registry.purge(aws, group)} version(s) of {group} deleted")
            elif args.action == "handoff":
                _handoff(aws, group, args.version, args.model)
            elif args.action == "rollback":
                return _rollback(aws, group, args)
            else:
                return _approve(aws, group, args, Path(tmp))
        return 0

    return run_cli(run)
