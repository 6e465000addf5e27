"""CloudWatch metric alarms and dashboards (terraform/modules/monitoring)."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from tests.terraform.aws_rules.core import (
    Check,
    Plan,
    Resource,
    _as_list,
    _doc,
    _member,
    _shape,
    _string_problem,
    rule,
    verdict,
)
from tests.terraform.aws_rules.sns import planned_topic

PUT_METRIC_ALARM = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"
ACTIONS = ("alarm_actions", "ok_actions", "insufficient_data_actions")


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", text))


@cache
def alarm_period_rules() -> dict[str, Any]:
    """The periods and evaluation windows PutMetricAlarm accepts, as the service model words them."""
    period = _doc(_member("cloudwatch", "PutMetricAlarm", "Period"))
    alarm_periods = re.search(r"Valid values are ([\d, ]+), and any multiple of 60", period)
    longest = re.search(r"can't be more than ([\d,]+) seconds", period)
    sub_hour = re.search(
        r"period of less than one hour \(([\d,]+) seconds\).*?longer than one day \(([\d,]+) seconds", period
    )
    metric = _doc(_shape("cloudwatch", "MetricStat").members["Period"])
    metric_periods = re.search(r"the period can be ([\d, ]+), or any multiple of 60", metric)
    assert alarm_periods and longest and sub_hour and metric_periods, "botocore reworded the alarm periods"
    return {
        "alarm_periods": _numbers(alarm_periods.group(1)),  # (10, 20, 30)
        "metric_periods": _numbers(metric_periods.group(1)),  # (1, 5, 10, 20, 30, 60)
        "longest": _numbers(longest.group(1))[0],  # 604,800 s: seven days
        "sub_hour": _numbers(sub_hour.group(1))[0],  # periods under 3,600 s ...
        "sub_hour_longest": _numbers(sub_hour.group(2))[0],  # ... evaluate at most 86,400 s
    }


def _queries(alarm: Resource) -> list[dict[str, Any]]:
    return [q for q in _as_list(alarm.get("metric_query")) if isinstance(q, dict)]


def _query_metric(query: dict[str, Any]) -> dict[str, Any] | None:
    metric = _as_list(query.get("metric"))
    return metric[0] if metric and isinstance(metric[0], dict) else None


@rule(
    "CW-ALARM-PERIOD",
    "An alarm's period is 10, 20, 30 or a multiple of 60 seconds (a metric math alarm's metrics: 1, 5, 10, 20, "
    "30 or a multiple of 60), and period x evaluation_periods is at most 604,800 s (seven days), at most "
    "86,400 s (one day) when the period is under an hour.",
    PUT_METRIC_ALARM,
)
def _cw_alarm_period(plan: Plan) -> Check:
    limits = alarm_period_rules()
    for alarm in plan.resources("aws_cloudwatch_metric_alarm"):
        periods: list[tuple[int, tuple[int, ...], str]] = []
        if isinstance(alarm.get("period"), int):
            periods.append((alarm.get("period"), limits["alarm_periods"], "period"))
        for q in _queries(alarm):
            metric = _query_metric(q)
            if metric and isinstance(metric.get("period"), int):
                periods.append((metric["period"], limits["metric_periods"], f"metric_query {q.get('id')!r} period"))
        n = alarm.get("evaluation_periods")
        problems = []
        for seconds, listed, what in periods:
            if seconds not in listed and not (seconds > 0 and seconds % 60 == 0):
                problems.append(f"{what} = {seconds} s: valid are {', '.join(map(str, listed))} or a multiple of 60")
            elif isinstance(n, int) and seconds * n > limits["longest"]:
                problems.append(f"{n} x {seconds} s = {seconds * n} s, over the {limits['longest']:,} s an alarm spans")
            elif isinstance(n, int) and seconds < limits["sub_hour"] and seconds * n > limits["sub_hour_longest"]:
                problems.append(
                    f"{n} x {seconds} s = {seconds * n} s: with a period under an hour an alarm spans at most "
                    f"{limits['sub_hour_longest']:,} s (one day)"
                )
        if periods:
            yield alarm.address, "; ".join(problems) if problems else None


@rule(
    "CW-ALARM-METRIC",
    "An alarm watches one metric (metric_name with exactly one of statistic / extended_statistic) or a metric "
    "math query (metric_query, then no metric_name, namespace, dimensions, period, unit or statistic): at most "
    "10 metrics and 10 expressions, each query a metric or an expression, ids starting with a lowercase letter, "
    "exactly one returning data; datapoints_to_alarm (M) is at most evaluation_periods (N).",
    PUT_METRIC_ALARM,
)
def _cw_alarm_metric(plan: Plan) -> Check:
    single = ("metric_name", "namespace", "dimensions", "period", "unit", "statistic", "extended_statistic")
    for alarm in plan.resources("aws_cloudwatch_metric_alarm"):
        queries, problems = _queries(alarm), list[str | None]()
        m, n = alarm.get("datapoints_to_alarm"), alarm.get("evaluation_periods")
        if isinstance(m, int) and isinstance(n, int) and m > n:
            problems.append(f"datapoints_to_alarm = {m} out of evaluation_periods = {n}: M can't exceed N")
        if not queries:
            if alarm.get("metric_name") is None:
                problems.append("neither metric_name nor metric_query: the alarm watches nothing")
            elif (alarm.get("statistic") is None) == (alarm.get("extended_statistic") is None):
                problems.append("set exactly one of statistic and extended_statistic")
            else:
                problems.append(_statistic_problem(alarm.get("statistic")))
        else:
            mixed = [a for a in single if alarm.get(a) not in (None, "", {})]
            metrics = [q for q in queries if _query_metric(q)]
            expressions = [q for q in queries if q.get("expression")]
            returning = [q.get("id") for q in queries if q.get("return_data") is True]
            if mixed:
                problems.append(f"metric_query with {mixed}: a metric math alarm sets those inside its queries")
            if len(metrics) > 10 or len(expressions) > 10:
                problems.append(f"{len(metrics)} metrics and {len(expressions)} expressions: at most 10 of each")
            if both := [q.get("id") for q in queries if _query_metric(q) and q.get("expression")]:
                problems.append(f"queries {both} set both a metric and an expression")
            if len(returning) != 1:
                problems.append(f"queries returning data: {returning}; exactly one is the value the alarm watches")
            problems += [
                f"query id {q.get('id')!r}: letters, digits and _, starting with a lowercase letter"
                for q in queries
                if isinstance(q.get("id"), str) and not re.fullmatch(r"[a-z][A-Za-z0-9_]*", q["id"])
            ]
        yield verdict(alarm.address, problems)


def _statistic_problem(statistic: Any) -> str | None:
    allowed = _member("cloudwatch", "PutMetricAlarm", "Statistic").enum
    if isinstance(statistic, str) and statistic not in allowed:
        return f"statistic {statistic!r} is not one of {', '.join(allowed)} (percentiles are extended_statistic)"
    return None


@cache
def treat_missing_data_values() -> tuple[str, ...]:
    listed = re.search(
        r"Valid Values: ([\w |]+?)\s+Alarms", _doc(_member("cloudwatch", "PutMetricAlarm", "TreatMissingData"))
    )
    assert listed, "botocore reworded TreatMissingData"
    return tuple(v.strip() for v in listed.group(1).split("|"))


@rule(
    "CW-ALARM-SETTINGS",
    "An alarm's name is 1-255 characters without control characters, its description at most 1,024; its "
    "comparison operator and missing-data treatment are values CloudWatch accepts; each action list has at "
    "most 5 actions.",
    PUT_METRIC_ALARM,
)
def _cw_alarm_settings(plan: Plan) -> Check:
    operators = _member("cloudwatch", "PutMetricAlarm", "ComparisonOperator").enum
    max_actions = _member("cloudwatch", "PutMetricAlarm", "AlarmActions").metadata["max"]
    for alarm in plan.resources("aws_cloudwatch_metric_alarm"):
        name, description = alarm.get("alarm_name"), alarm.get("alarm_description")
        operator, missing = alarm.get("comparison_operator"), alarm.get("treat_missing_data")
        problems: list[str | None] = []
        if isinstance(name, str):
            problems.append(_string_problem(name, _member("cloudwatch", "PutMetricAlarm", "AlarmName"), "alarm_name"))
            if re.search(r"[\x00-\x1f\x7f]", name):
                problems.append(f"alarm_name {name!r} contains an ASCII control character")
        if isinstance(description, str):
            shape = _member("cloudwatch", "PutMetricAlarm", "AlarmDescription")
            problems.append(_string_problem(description, shape, "alarm_description"))
        if isinstance(operator, str) and operator not in operators:
            problems.append(f"comparison_operator {operator!r} is not one of {', '.join(operators)}")
        if isinstance(missing, str) and missing not in treat_missing_data_values():
            problems.append(f"treat_missing_data {missing!r}: one of {', '.join(treat_missing_data_values())}")
        for attr in ACTIONS:
            actions = alarm.get(attr)
            if isinstance(actions, list) and len(actions) > max_actions:
                problems.append(f"{attr} has {len(actions)} actions: at most {max_actions}")
        yield verdict(alarm.address, problems)


@rule(
    "CW-ALARM-SNS-ACTION",
    "An alarm action that notifies SNS names a topic this plan keeps (arn:aws:sns:<region>:<account>:<topic>): "
    "CloudWatch accepts any ARN, and an alarm whose topic is gone notifies no one.",
    PUT_METRIC_ALARM,
)
def _cw_alarm_sns_action(plan: Plan) -> Check:
    for alarm in plan.resources("aws_cloudwatch_metric_alarm"):
        missing = []
        for attr in ACTIONS:
            value = alarm.get(attr)
            values = value if isinstance(value, list) else [value]
            for v in values:
                if v is None:
                    continue
                found, what = planned_topic(plan, alarm, attr, v)
                if found is False:
                    missing.append(f"{attr}: {what}")
        checked = any(alarm.get(a) not in (None, []) for a in ACTIONS)
        if missing:
            topics = sorted(str(t.get("name")) for t in plan.resources("aws_sns_topic"))
            yield alarm.address, f"{'; '.join(missing)} names no SNS topic of this plan (topics: {topics})"
        elif checked:
            yield alarm.address, None


@rule(
    "CW-DASHBOARD",
    "A dashboard's name is at most 255 characters of A-Z, a-z, 0-9, - and _; its body (when known at plan) is "
    "JSON with at most 500 widgets of at most 500 metrics each, each widget at x 0-23, y >= 0, width 1-24, "
    "height 1-1000.",
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html, "
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html and "
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html",
)
def _cw_dashboard(plan: Plan) -> Check:
    for dash in plan.resources("aws_cloudwatch_dashboard"):
        name, body = dash.get("dashboard_name"), dash.get("dashboard_body")
        problems = []
        if isinstance(name, str) and not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", name):
            problems.append(f"dashboard_name {name!r}: 1-255 characters of A-Z, a-z, 0-9, - and _")
        if isinstance(body, str):  # usually known after apply: it names the API's id
            problems += _dashboard_body_problems(body)
        yield dash.address, "; ".join(problems) if problems else None


def _dashboard_body_problems(body: str) -> list[str]:
    try:
        widgets = json.loads(body).get("widgets")
    except (ValueError, AttributeError):
        return ["dashboard_body is not a JSON object"]
    if not isinstance(widgets, list):
        return ["dashboard_body has no widgets array"]
    problems = [f"{len(widgets)} widgets, over the 500 a dashboard holds"] if len(widgets) > 500 else []
    bounds = {"x": (0, 23), "width": (1, 24), "height": (1, 1000)}
    for i, w in enumerate(widgets):
        metrics = _as_list((w.get("properties") or {}).get("metrics"))
        if len(metrics) > 500:
            problems.append(f"widget {i} has {len(metrics)} metrics, over the 500 a widget holds")
        for key, (lo, hi) in bounds.items():
            if isinstance(w.get(key), int) and not lo <= w[key] <= hi:
                problems.append(f"widget {i}: {key} = {w[key]}, not {lo}-{hi}")
        if isinstance(w.get("y"), int) and w["y"] < 0:
            problems.append(f"widget {i}: y = {w['y']} is negative")
    return problems
