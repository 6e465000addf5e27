"""SNS: the alarm topic and its subscriptions."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from tests.terraform.aws_rules.core import UNKNOWN, Check, Plan, Resource, _doc, _member, rule


def _topic_name(arn: str) -> str | None:
    m = re.fullmatch(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:([A-Za-z0-9_.-]+)", arn)
    return m.group(1) if m else None


def planned_topic(plan: Plan, res: Resource, attr: str, value: Any) -> tuple[bool | None, str]:
    """Whether ``value`` (an SNS topic ARN at ``attr``) names a topic of this plan; None when it can't be told."""
    topics = plan.resources("aws_sns_topic")
    if isinstance(value, str):
        name = _topic_name(value)
        if name is None:
            return None, value
        known = {t.get("name") for t in topics} | {t.get("arn") for t in topics if isinstance(t.get("arn"), str)}
        return (name in known or value in known), value
    referenced = plan.references(res, attr)
    if value is UNKNOWN and referenced:
        return any(t.address in referenced for t in topics), ", ".join(referenced)
    return None, ""


@rule(
    "SNS-TOPIC-NAME",
    "A topic name is 1-256 characters of ASCII letters, digits, - and _; a FIFO topic's name ends with .fifo "
    "(and only a FIFO topic's); a name_prefix leaves 26 characters for Terraform's suffix.",
    "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html",
)
def _sns_topic_name(plan: Plan) -> Check:
    for topic in plan.resources("aws_sns_topic"):
        name, prefix, fifo = topic.get("name"), topic.get("name_prefix"), topic.get("fifo_topic") is True
        if isinstance(name, str):
            base = name.removesuffix(".fifo") if fifo else name
            if fifo and not name.endswith(".fifo"):
                yield topic.address, f"name {name!r}: a FIFO topic's name must end with .fifo"
            elif not re.fullmatch(r"[A-Za-z0-9_-]+", base) or len(name) > 256:
                yield topic.address, f"name {name!r}: 1-256 characters of letters, digits, - and _ (.fifo for FIFO)"
            else:
                yield topic.address, None
        elif isinstance(prefix, str):
            room = 256 - 26 - (len(".fifo") if fifo else 0)
            ok = len(prefix) <= room and re.fullmatch(r"[A-Za-z0-9_-]+", prefix)
            yield topic.address, None if ok else f"name_prefix {prefix!r}: at most {room} of letters, digits, - and _"


@cache
def subscription_protocols() -> tuple[str, ...]:
    """The protocols Subscribe lists ("http – delivery of JSON-encoded message via HTTP POST", ...)."""
    listed = tuple(re.findall(r"(\S+) – delivery", _doc(_member("sns", "Subscribe", "Protocol"))))
    assert "email" in listed and "https" in listed, "botocore reworded Subscribe's protocols"
    return listed


# What each protocol's endpoint looks like (Subscribe's Endpoint documentation).
ENDPOINTS = {
    "http": (r"http://.+", "a URL beginning with http://"),
    "https": (r"https://.+", "a URL beginning with https://"),
    "email": (r"[^@\s]+@[^@\s]+", "an email address"),
    "email-json": (r"[^@\s]+@[^@\s]+", "an email address"),
    "sms": (r"\+?[0-9]{6,15}", "a phone number"),
    "sqs": (r"arn:aws[a-z-]*:sqs:.+", "an SQS queue ARN"),
    "application": (r"arn:aws[a-z-]*:sns:.+", "a platform endpoint ARN"),
    "lambda": (r"arn:aws[a-z-]*:lambda:.+", "a Lambda function ARN"),
    "firehose": (r"arn:aws[a-z-]*:firehose:.+", "a Firehose delivery stream ARN"),
}


@rule(
    "SNS-SUBSCRIPTION",
    "A subscription uses a protocol SNS supports (http, https, email, email-json, sms, sqs, application, "
    "lambda, firehose) with an endpoint of that protocol's form, on a topic this plan keeps.",
    "https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html",
)
def _sns_subscription(plan: Plan) -> Check:
    for sub in plan.resources("aws_sns_topic_subscription"):
        protocol, endpoint = sub.get("protocol"), sub.get("endpoint")
        on_topic, topic = planned_topic(plan, sub, "topic_arn", sub.get("topic_arn"))
        problems = []
        if isinstance(protocol, str) and protocol not in subscription_protocols():
            problems.append(f"protocol {protocol!r} is not one SNS supports ({', '.join(subscription_protocols())})")
        elif isinstance(endpoint, str) and protocol in ENDPOINTS:
            pattern, form = ENDPOINTS[protocol]
            if not re.fullmatch(pattern, endpoint):
                problems.append(f"endpoint {endpoint!r}: protocol {protocol} takes {form}")
        if on_topic is False:
            problems.append(f"topic_arn {topic} names no SNS topic of this plan")
        yield sub.address, "; ".join(problems) if problems else None
