"""The page's Content-Security-Policy stays as strict as it is, and the page's sources need no more.

The policy is pinned directive by directive: loosening any of them (an 'unsafe-inline', an
'unsafe-eval', a new origin) fails here, in plain sight. The sources are read for what such a
policy would block or what would tempt someone to loosen it: inline script or style, event
handler attributes, eval and its kin, HTML parsed from strings.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"

STRICT = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "object-src": ["'none'"],
}


def directives(policy: str) -> dict[str, list[str]]:
    parts = [p.split() for p in policy.split(";") if p.strip()]
    return {p[0].lower(): p[1:] for p in parts}


def served_policy() -> str:
    return str(json.loads((WEB / "security_headers.json").read_text(encoding="utf-8"))["Content-Security-Policy"])


def test_the_policy_is_the_strict_one():
    assert directives(served_policy()) == STRICT


def test_index_html_has_no_inline_script_or_style():
    html = (WEB / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S | re.I)
    assert scripts, "no script tags found: the check reads nothing"
    for attributes, body in scripts:
        assert re.search(r'\bsrc="(?!https?:|//)[^"]+"', attributes), f"script without a local src: {attributes}"
        assert body.strip() == "", f"inline script: {body[:80]}"
    assert not re.search(r"<style\b", html, flags=re.I)
    assert not re.search(r"\sstyle=", html, flags=re.I)
    assert not re.search(r"\son[a-z]+=", html, flags=re.I), "inline event handler"
    assert not re.search(r'\b(?:src|href)="(?:https?:)?//', html, flags=re.I), "a resource from another origin"


# What the sources must not do: run strings as code (eval's kin, blocked without 'unsafe-eval'),
# parse strings as HTML (the XSS path no CSP fully closes), or write a style attribute (blocked by
# style-src 'self'; the page sets widths through the CSSOM, which the policy allows).
FORBIDDEN = {
    "eval": r"\beval\s*\(",
    "new Function": r"\bnew\s+Function\s*\(",
    "timer with a string": r"\bset(?:Timeout|Interval)\s*\(\s*[\"'`]",
    "innerHTML/outerHTML": r"\.(?:inner|outer)HTML\b",
    "insertAdjacentHTML": r"\binsertAdjacentHTML\b",
    "document.write": r"\bdocument\.write",
    "style attribute": r"setAttribute\(\s*[\"']style[\"']",
    "event handler attribute": r"setAttribute\(\s*[\"']on",
}


@pytest.mark.parametrize("script", sorted(p.name for p in (WEB / "js").glob("*.js")))
def test_scripts_need_nothing_the_policy_blocks(script):
    source = (WEB / "js" / script).read_text(encoding="utf-8")
    found = [name for name, pattern in FORBIDDEN.items() if re.search(pattern, source)]
    assert found == []


@pytest.mark.parametrize(
    ("snippet", "name"),
    [
        ("node.innerHTML = text;", "innerHTML/outerHTML"),
        ("setTimeout('go()', 10);", "timer with a string"),
        ('el.setAttribute("style", "width: 3px");', "style attribute"),
        ("var f = new Function('return 1');", "new Function"),
    ],
)
def test_the_source_check_sees_each_pattern(snippet, name):
    assert [n for n, pattern in FORBIDDEN.items() if re.search(pattern, snippet)] == [name]


def test_a_looser_policy_would_be_seen():
    looser = served_policy().replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
    assert directives(looser) != STRICT
