"""The invoker's EMF documents against the published specification, and the layout Terraform graphs."""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.monitoring.emf_spec import EmfError, check, check_line

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "functions" / "invoker"))
import metrics  # noqa: E402 (the Lambda's module, imported as the runtime does)

NOW_MS = 1_764_000_000_000


def doc(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "function_name": "churn-invoker",
        "endpoint_name": "churn-endpoint",
        "status": 200,
        "handler_ms": 12.3456,
        "endpoint_ms": 8.5,
        "scores": [0.05, 0.31, 0.31, 0.97, 1.0],
        "cutoff": 0.3,
        "properties": {"request_id": "r-1", "outcome": "ok"},
        "timestamp_ms": NOW_MS,
    }
    args.update(overrides)
    return metrics.document(**args)


def test_a_scored_request_is_valid_emf_with_counts_and_deciles():
    d = doc()
    check_line(json.dumps(d))
    (directive,) = d["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Churn/Invoker"
    assert directive["Dimensions"] == [["FunctionName", "EndpointName"]]
    assert d["FunctionName"] == "churn-invoker" and d["EndpointName"] == "churn-endpoint"
    assert (d["Requests"], d["Records"], d["Flagged"]) == (1, 5, 4)
    assert (d["Status2xx"], d["Status4xx"], d["Status5xx"]) == (1, 0, 0)
    assert [d[f"ScoreDecile{i}"] for i in range(10)] == [1, 0, 0, 2, 0, 0, 0, 0, 0, 2]
    assert d["HandlerLatency"] == 12.346 and d["EndpointLatency"] == 8.5
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units["HandlerLatency"] == "Milliseconds" and units["Records"] == "Count"
    assert {m["StorageResolution"] for m in directive["Metrics"]} == {60}
    assert d["request_id"] == "r-1"  # properties stay readable in the log


@pytest.mark.parametrize("status", [204, 400, 404, 413, 415, 500, 502, 503, 504])
def test_an_unscored_request_counts_its_status_class_and_no_records(status):
    d = doc(status=status, scores=(), endpoint_ms=None, cutoff=None)
    check(d)
    assert d["Records"] == d["Flagged"] == 0
    assert sum(d[f"ScoreDecile{i}"] for i in range(10)) == 0
    assert d[f"Status{status // 100}xx"] == 1
    assert sum(d[n] for n in ("Status2xx", "Status4xx", "Status5xx")) == 1
    assert "EndpointLatency" not in d  # no call, no latency: an average must not mix in zeros
    assert "EndpointLatency" not in {m["Name"] for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]}


def test_histogram_edges():
    assert metrics.score_histogram([0.0, 0.0999, 0.1, 0.5, 0.9, 0.99999, 1.0]) == [2, 1, 0, 0, 0, 1, 0, 0, 0, 3]


def test_dimension_values_are_never_blank_or_non_ascii():
    d = doc(function_name=None, endpoint_name="  caf\u00e9 ")
    check(d)
    assert d["FunctionName"] == metrics.UNKNOWN and d["EndpointName"].isascii()


def test_metric_members_win_over_properties_of_the_same_name():
    d = doc(properties={"Records": "not a number", "FunctionName": 7})
    check(d)
    assert d["Records"] == 5 and d["FunctionName"] == "churn-invoker"


def test_the_layout_fits_the_spec_limits():
    assert len(metrics.COUNTS) + len(metrics.LATENCIES) <= 100
    assert len(metrics.DIMENSIONS) <= 30
    assert len(set(metrics.UNITS)) == len(metrics.COUNTS) + len(metrics.LATENCIES)


# The checker must be able to fail: each broken copy of a valid document is refused.
def _break(path, value):
    def mutate(d):
        target = d
        for key in path[:-1]:
            target = target[key]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return mutate


BROKEN = {
    "no _aws": _break(["_aws"], KeyError),
    "no timestamp": _break(["_aws", "Timestamp"], KeyError),
    "timestamp in seconds as a float": _break(["_aws", "Timestamp"], 1.7e9),
    "no directives": _break(["_aws", "CloudWatchMetrics"], []),
    "extra directive member": _break(["_aws", "CloudWatchMetrics", 0, "Extra"], 1),
    "no namespace": _break(["_aws", "CloudWatchMetrics", 0, "Namespace"], KeyError),
    "empty namespace": _break(["_aws", "CloudWatchMetrics", 0, "Namespace"], ""),
    "31 dimensions": _break(["_aws", "CloudWatchMetrics", 0, "Dimensions"], [[f"d{i}" for i in range(31)]]),
    "dimension target missing": _break(["EndpointName"], KeyError),
    "dimension target a number": _break(["EndpointName"], 5),
    "dimension target blank": _break(["EndpointName"], " "),
    "101 metrics": _break(["_aws", "CloudWatchMetrics", 0, "Metrics"], [{"Name": "Requests"}] * 101),
    "bad unit": _break(["_aws", "CloudWatchMetrics", 0, "Metrics", 0, "Unit"], "Customers"),
    "bad storage resolution": _break(["_aws", "CloudWatchMetrics", 0, "Metrics", 0, "StorageResolution"], 30),
    "metric target missing": _break(["Requests"], KeyError),
    "metric target a string": _break(["Requests"], "1"),
    "metric target a boolean": _break(["Requests"], True),
    "metric target NaN": _break(["Requests"], float("nan")),
    "metric target 101 values": _break(["Requests"], [1] * 101),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_the_checker_refuses_what_the_spec_forbids(name):
    d = copy.deepcopy(doc())
    BROKEN[name](d)
    with pytest.raises(EmfError):
        check(d)


def test_the_checker_refuses_text_around_the_json():
    with pytest.raises(EmfError):
        check_line("INFO " + json.dumps(doc()))


def test_terraform_graphs_and_alarms_on_the_emitted_names():
    """terraform/modules/monitoring/main.tf's local.emf must list exactly what metrics.py emits."""
    text = (ROOT / "terraform" / "modules" / "monitoring" / "main.tf").read_text(encoding="utf-8")
    block = re.search(r"\n  emf = \{\n(.*?)\n  \}\n", text, re.S)
    assert block, "local.emf not found in the monitoring module"
    body = block[1]

    def value(key):
        m = re.search(rf"^\s*{key}\s*=\s*(.+)$", body, re.M)
        assert m, key
        return json.loads(m[1])

    assert value("namespace") == metrics.NAMESPACE
    assert value("requests") == metrics.REQUESTS and value("records") == metrics.RECORDS
    assert value("flagged") == metrics.FLAGGED
    assert value("handler_latency") == metrics.HANDLER_LATENCY
    assert value("endpoint_latency") == metrics.ENDPOINT_LATENCY
    assert value("status_classes") == list(metrics.STATUS_CLASSES.values())
    assert value("score_bins") == list(metrics.SCORE_BINS)
    assert f'emf_dims = ["{metrics.FUNCTION_DIMENSION}", var.function_name, "{metrics.ENDPOINT_DIMENSION}"' in text
