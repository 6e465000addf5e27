"""How `make test` spreads the tests over pytest-xdist workers (``-n N --dist loadgroup``).

Loaded with ``-p tests.parallel`` (pyproject's addopts), so it also runs without xdist, where
the marks it adds change nothing.

- A file whose tests share a module-scoped fixture (a running stack, a ``terraform apply``
  against moto) is one group: that fixture is set up once, on one worker.
- Every other test is scheduled on its own, wherever a worker is free.

Groups that take longest go first (xdist hands work out in collection order), so no long group
starts last and leaves the other workers idle at the end.
"""

from __future__ import annotations

import pytest

# The slowest groups, first: measured with --durations (each is a chain of terraform or
# stack start-ups). Others keep their collection order.
SLOW_FIRST = (
    "tests/rehearsal/",  # three make deploys and two make destroys in a row
    "tests/terraform/test_aws_rules.py",
    "tests/terraform/test_tftest.py",
    "tests/terraform/test_bootstrap.py",
    "tests/terraform/test_rollback.py",  # two terraform applies against moto (~26 s)
    "tests/reliability/",
    "tests/serving/test_stack.py",
    "tests/browser/",
    # Single processes of 10-20 s (checkov; terraform init + validate or test; train + score):
    # handed out last, they ran alone at the end with one core idle.
    "tests/terraform/test_static.py",
    "tests/terraform/test_examples.py",
    "tests/sagemaker/test_sm_handoff.py",
    "tests/model/test_pipeline.py",
)


def group_of(item: pytest.Item) -> str | None:
    path = item.nodeid.split("::", 1)[0]
    fixture_info = getattr(item, "_fixtureinfo", None)
    if fixture_info is None:
        return None
    for defs in fixture_info.name2fixturedefs.values():
        if any(d.scope in ("module", "class", "package") for d in defs):
            return path
    return None


def rank(item: pytest.Item) -> int:
    for index, prefix in enumerate(SLOW_FIRST):
        if item.nodeid.startswith(prefix):
            return index
    return len(SLOW_FIRST)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        group = group_of(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=rank)  # stable: collection order within a rank
