"""The README and docs/ stay true to the repository: links, anchors, make targets, `ml` commands, modules.

The first tests check the repository's own pages; the rest break a copy in a temporary folder and
show that each check reports the fault.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.checks import (
    anchors,
    broken_links,
    cli_subcommands,
    doc_files,
    make_commands,
    make_targets,
    slug,
    undocumented_make_targets,
    unknown_make_targets,
    unknown_ml_commands,
    unlinked_modules,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = doc_files(ROOT)
README_MAX_LINES = 150  # issue 21: a short front page; the rest lives in docs/


def problems_of(found: list[str]) -> str:
    return "\n".join(["", *found])


def test_every_link_and_anchor_resolves():
    found = broken_links(DOCS, ROOT)
    assert not found, problems_of(found)


def test_every_make_command_is_a_target():
    found = unknown_make_targets(DOCS, ROOT / "Makefile")
    assert not found, problems_of(found)


def test_every_target_make_help_lists_is_on_a_page():
    found = undocumented_make_targets(DOCS, ROOT / "Makefile")
    assert not found, problems_of(found)


def test_every_ml_command_exists():
    subcommands = cli_subcommands()
    assert {"data", "train", "score", "serve", "stack", "drift"} <= subcommands
    found = unknown_ml_commands(DOCS, subcommands)
    assert not found, problems_of(found)


def test_every_terraform_module_is_linked():
    found = unlinked_modules(DOCS, ROOT / "terraform" / "modules")
    assert not found, problems_of(found)


def test_the_readme_stays_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move detail into a docs/ page"


def test_every_docs_page_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [page.name for page in DOCS[1:] if f"](docs/{page.name})" not in readme]
    assert missing == []


# --- each check, shown to fail on a broken copy ------------------------------------------------


def write(root: Path, files: dict[str, str]) -> list[Path]:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return doc_files(root)


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("What `ml` does", "what-ml-does"),
        (
            "Cost (approximate us-east-1 list prices; check the SageMaker pricing page)",
            "cost-approximate-us-east-1-list-prices-check-the-sagemaker-pricing-page",
        ),
        ("Alarms: what each means and what to do", "alarms-what-each-means-and-what-to-do"),
        ("`data_bucket` → S3", "data_bucket--s3"),
        ("See [the team path](docs/team.md)", "see-the-team-path"),
    ],
)
def test_slugs_follow_github(heading, anchor):
    assert slug(heading) == anchor


def test_repeated_headings_get_numbered_anchors():
    text = "# Notes\n\n## Notes\n\n```sh\n# not a heading\n```\n\n## Notes\n"
    assert anchors(text) == {"notes", "notes-1", "notes-2"}


def test_a_broken_link_is_reported(tmp_path):
    docs = write(
        tmp_path,
        {
            "README.md": "# Title\n\n[ok](#title) [page](docs/a.md#part) [gone](docs/gone.md) [nowhere](#no-such)\n"
            "![picture](docs/page.png) [web](https://example.com/x) `[in code](nowhere.md)`\n",
            "docs/a.md": "# A\n\n## Part\n\n[up](../README.md#title) [wrong](../README.md#part) [out](../../x.md)\n",
        },
    )
    assert broken_links(docs, tmp_path) == [
        "README.md: docs/gone.md: no such file",
        "README.md: #no-such: no heading #no-such in README.md",
        "README.md: docs/page.png: no such file",
        "docs/a.md: ../README.md#part: no heading #part in README.md",
        "docs/a.md: ../../x.md: outside the repository",
    ]


def test_an_unknown_make_target_is_reported(tmp_path):
    makefile = tmp_path / "Makefile"
    makefile.write_text(
        "PORT ?= 8080\nTF := terraform -chdir=x\n.PHONY: demo test\n\n"
        "demo: install ## Serve the page\n\t@true\n\ntest: export GOGC := 400\ntest: ## Every test\n\t@true\n\n"
        "install: $(VENV)/.installed\n$(VENV)/.installed: pyproject.toml\n\ttouch $@\n"
        "ifneq ($(CI),)\n  export NO_COLOR\nendif\nclean: ## Remove build/\n\trm -rf build\n",
        encoding="utf-8",
    )
    assert make_targets(makefile) == {"demo": True, "test": True, "install": False, "clean": True}
    docs = write(
        tmp_path,
        {"README.md": "To make a demo: `make demo`, `STATE_BUCKET=b make test`.\n\n```sh\nmake PORT=1 deploy\n```\n"},
    )
    assert make_commands(docs[0].read_text(encoding="utf-8")) == ["deploy", "demo", "test"]
    assert unknown_make_targets(docs, makefile) == ["README.md: make deploy: no such target in Makefile"]

    write(tmp_path, {"README.md": "`make demo`\n"})
    assert undocumented_make_targets(docs, makefile) == ["make test: named on no page", "make clean: named on no page"]


def test_an_unknown_ml_command_is_reported(tmp_path):
    docs = write(tmp_path, {"README.md": "`python -m ml score --input x`, `.venv/bin/python -m ml fit`\n"})
    assert unknown_ml_commands(docs, cli_subcommands()) == ["README.md: python -m ml fit: no such subcommand"]


def test_an_unlinked_module_is_reported(tmp_path):
    modules = tmp_path / "terraform" / "modules"
    docs = write(
        tmp_path,
        {
            "terraform/modules/linked/README.md": "# linked\n",
            "terraform/modules/forgotten/main.tf": "",
            "README.md": "[linked](terraform/modules/linked/README.md), `terraform/modules/forgotten`\n",
        },
    )
    assert unlinked_modules(docs, modules) == ["forgotten: no page links to forgotten/"]
