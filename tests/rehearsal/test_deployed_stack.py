"""The team stack `make deploy` built, checked between its deploy and its destroy: one test per
check of tests/rehearsal/stack_checks.py (the rehearsal ran them against the live stand-in)."""

from __future__ import annotations

import pytest

from tests.rehearsal.conftest import Rehearsal
from tests.rehearsal.stack_checks import CHECKS

pytestmark = [pytest.mark.terraform, pytest.mark.integration, pytest.mark.xdist_group("deploy-rehearsal")]


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_deployed_stack(rehearsal: Rehearsal, check: str):
    verdicts = rehearsal.snapshots.get("stack checks")
    assert verdicts is not None, "the team deploy failed: see test_team_deploy"
    assert verdicts[check] == "ok", verdicts[check]
