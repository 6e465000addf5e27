"""`python -m ml registry list | compare A B | approve N --note … [--force]`: ml.sagemaker.registry's commands."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from ml.sagemaker import registry, tf_outputs
from ml.sagemaker.aws import Aws, run_cli


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
                mine, theirs = registry.compare(aws, a, b, Path(tmp))
                print(registry.comparison_text(mine, theirs, int(a.test["rows"])))
            elif args.action == "purge":
                print(f"registry  {registry.purge(aws, group)} version(s) of {group} deleted")
            else:
                try:
                    v = registry.approve(aws, group, args.version, args.note, args.force, Path(tmp))
                except registry.Refused as err:  # a decision, not a setup problem: exit 1
                    print(f"refused: {err}", file=sys.stderr)
                    return 1
                print(f"version {v.number} approved: {v.note}")
        return 0

    return run_cli(run)
