"""CloudWatch Logs log groups."""

from __future__ import annotations

import re
from functools import cache

from tests.terraform.aws_rules.core import (
    Check,
    Plan,
    _member,
    _string_problem,
    rule,
)

# -- CloudWatch Logs ----------------------------------------------------------------------


@cache
def retention_days() -> tuple[int, ...]:
    """The values PutRetentionPolicy accepts, as the service model documents them."""
    doc = _member("logs", "PutRetentionPolicy", "retentionInDays").documentation
    listed = re.search(r"Possible values are:(.*?)\.", doc, re.S)
    assert listed, "botocore no longer lists the retention values"
    return tuple(int(n) for n in re.findall(r"\d+", listed.group(1)))


@rule(
    "LOGS-RETENTION",
    "A log group's retention is one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653 days).",
    "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html",
)
def _logs_retention(plan: Plan) -> Check:
    allowed = retention_days()
    for g in plan.resources("aws_cloudwatch_log_group"):
        days = g.get("retention_in_days")
        if isinstance(days, int) and days != 0 and days not in allowed:
            yield g.address, f"retention_in_days = {days}: CloudWatch Logs accepts {', '.join(map(str, allowed))}"
        else:
            yield g.address, None


@rule(
    "LOGS-GROUP-NAME",
    "A log group name is 1-512 characters of letters, digits and . - _ / #.",
    "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html",
)
def _logs_group_name(plan: Plan) -> Check:
    shape = _member("logs", "CreateLogGroup", "logGroupName")
    for g in plan.resources("aws_cloudwatch_log_group"):
        name = g.get("name")
        if isinstance(name, str):
            yield g.address, _string_problem(name, shape, "log group name")
