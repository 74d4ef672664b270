"""Issue 14 (memory): YAML is built from the parser's events, without a node tree, and means exactly what it
meant when it was built from nodes.

For every YAML file in the repository and a table of tricky documents, :func:`parse_yaml` (events first) and
:func:`parse_yaml_nodes` (the node path) give the same data (types included) or the same error text, and
the same line for every path the event path records (it records every path outside aliased values). Each
case also says which path decided, so a silent fall-back to the node path everywhere would fail here.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

import toolkit.yamllines as yamllines
from toolkit.errors import UsageError
from toolkit.yamllines import MAX_ALIAS_NODES, parse_yaml, parse_yaml_nodes, safe_load_bounded, safe_load_bounded_nodes

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", "node_modules", "build", "dist", "__pycache__"}
REPO_YAML = sorted(
    path
    for pattern in ("*.yml", "*.yaml")
    for path in ROOT.rglob(pattern)
    if not SKIP_DIRS.intersection(path.relative_to(ROOT).parts) and not path.name.startswith(".")
)

WIDE_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)
JUST_OVER = "a: &a [" + ", ".join(["x"] * 100) + "]\nb: [" + ", ".join(["*a"] * (MAX_ALIAS_NODES // 100 + 2)) + "]\n"
JUST_UNDER = "a: &a [" + ", ".join(["x"] * 99) + "]\nb: [" + ", ".join(["*a"] * (MAX_ALIAS_NODES // 100)) + "]\n"

# (id, document, True when the event path builds it itself / False when it must hand it to the node path)
CASES: list[tuple[str, str, bool]] = [
    ("empty", "", True),
    ("comment-only", "# nothing\n", True),
    ("empty-doc", "---\n", True),
    ("explicit-end", "---\na: 1\n...\n", True),
    ("nulls", "a: ~\nb: null\nc:\nd: Null\n~: tilde-key\n", True),
    ("bools", "a: yes\nb: no\nc: on\nd: off\ne: True\nf: n\ng: Y\n'yes': quoted\n", True),
    ("ints", "a: 0o17\nb: 017\nc: 0x1F\nd: 0b101\ne: 1_000\nf: 190:20:30\ng: -0\nh: +12\n", True),
    ("floats", "a: .inf\nb: -.Inf\nc: .nan\nd: 1.5e3\ne: 190:20:30.15\nf: 1_000.5\ng: 6.8523015e+5\n", True),
    ("timestamps", "a: 2001-12-14t21:59:43.10-05:00\nb: 2002-12-14\nc: 2001-12-14 21:59:43.10\n", True),
    ("binary", "a: !!binary aGVsbG8=\nb: !!str 123\nc: !!int '12'\nd: !!float '1'\ne: !!bool 'yes'\n", True),
    ("quoted", "a: '123'\nb: \"yes\"\nc: 'it''s'\nd: \"tab\\tnew\\nline\\u263a\"\ne: ! 12\n", True),
    ("multiline", "a: |\n  one\n  two\nb: >\n  folded\n  text\n\nc: plain\n  continued\nd: |-\n  x\n", True),
    ("flow", "a: {b: [1, 2, {c: d}], e: []}\nf: [[], {}, [x, [y]]]\n", True),
    ("sequences", "- a\n- - b\n  - c\n-\n  k: v\n  l:\n  - 1\n- &s shared\n- *s\n", True),
    ("anchors", "p: &p 22\nbase: &b {auth: ntlm, port: 5985}\nhosts:\n  h1: *b\n  h2: {port: *p}\n", True),
    ("forward-alias", "hosts:\n  h2: {port: *p}\nother: &p 22\n", False),
    ("anchor-twice", "a: &x 1\nb: &x 2\nc: *x\n", False),
    ("aliases", "x: &x {a: [1, 2]}\ny: [*x, *x]\nz: &z {inner: *x}\nw: [*z, {v: *z}]\n", True),
    ("anchor-key", "&k key: 1\nother: *k\n", True),
    ("alias-key", "a: &a k\n*a : v\n", False),
    ("int-keys", "1: one\n0x2: hex\n'3': str\n4.0: float\ntrue: bool\n2002-12-14: date\n", True),
    ("equal-keys", "1: one\n0x1: hex\n1.0: float\nyes: a\nTrue: b\n", True),
    ("long-strings", f"a: {'x' * 100}\nb: {'x' * 100}\nc: short\nd: short\n", True),
    ("unicode", "name: Jürgen\nemoji: \U0001f600\nrtl: \u202ex\n", True),
    ("directives", "%YAML 1.1\n---\na: !!str 1\n", True),
    ("tag-shorthand", "%TAG !e! tag:yaml.org,2002:\n---\na: !e!int '7'\n", True),
    ("duplicate-keys", "a: 1\nb: 2\na: 3\n", False),
    ("duplicate-nested", "x:\n  y: 1\n  z:\n    k: 1\n    k: 2\n", False),
    ("duplicate-raw-only", "1: a\n'1': b\n", False),
    ("merge-key", "base: &b {a: 1}\nthing:\n  <<: *b\n  c: 2\n", False),
    ("merge-list", "a: &a {x: 1}\nb: &b {y: 2}\nc: {<<: [*a, *b], z: 3}\n", False),
    ("set", "s: !!set {a, b}\n", False),
    ("omap", "o: !!omap [a: 1, b: 2]\n", False),
    ("pairs", "p: !!pairs [a: 1, a: 2]\n", False),
    ("explicit-map-tag", "m: !!map {a: 1}\n", False),
    ("unknown-tag", "a: !custom value\n", False),
    ("python-tag", "a: !!python/object:os.system ls\n", False),
    ("value-key", "a: =\n", False),
    ("complex-key", "? [a, b]\n: v\n", False),
    ("complex-map-key", "? {a: 1}\n: v\n", False),
    ("bad-indent", "a:\n  b: 1\n c: 2\n", False),
    ("bad-flow", "a: [1, 2\nb: 3\n", False),
    ("bad-late", "a: 1\nb: 2\nc: 3\nd: [\n", False),
    ("tab", "a:\n\tb: 1\n", False),
    ("undefined-alias", "a: *nope\n", False),
    ("two-docs", "a: 1\n---\nb: 2\n", False),
    ("bad-int-tag", "a: !!int abc\n", False),
    ("bad-date", "a: 2001-02-30\n", False),
    ("bad-binary", "a: !!binary 'a'\n", False),
    ("cycle", "a: &a [1, *a]\n", False),
    ("nested-150", "a: " + "[" * 150 + "]" * 150 + "\n", False),
    ("nested-99", "a: " + "[" * 99 + "]" * 99 + "\n", True),
    ("nested-100", "a: " + "[" * 100 + "]" * 100 + "\n", True),
    ("nested-101", "a: " + "[" * 101 + "]" * 101 + "\n", False),
    ("deep-via-alias", "x: &x " + "[" * 60 + "]" * 60 + "\ny: " + "[" * 50 + "*x" + "]" * 50 + "\n", False),
    ("bomb", WIDE_BOMB, False),
    ("bomb-just-over", JUST_OVER, False),
    ("bomb-just-under", JUST_UNDER, True),
]


def canonical(value: Any) -> Any:
    """``value`` with every type spelled out (``1``, ``1.0`` and ``True`` differ) and NaN equal to NaN."""
    if isinstance(value, dict):
        return ("dict", [(canonical(k), canonical(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [canonical(item) for item in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def outcome(parse: Any, text: str) -> tuple[str, Any, dict[Any, int]]:
    """``("ok", canonical data, lines)`` or ``("error", error type and text, {})``."""
    try:
        document, locations = parse(text, "doc.yaml")
    except (UsageError, ValueError, yaml.YAMLError) as exc:
        return "error", (type(exc).__name__, str(exc)), {}
    return "ok", canonical(document), locations.lines


def built_from_events(text: str, refuse_duplicates: bool = True) -> bool:
    """Whether the event path built ``text`` itself (rather than handing it to the node path)."""
    built, _ = yamllines._from_events(text, {}, refuse_duplicates)
    return built


def assert_same(text: str) -> None:
    """Both paths agree on ``text``: the same data or error, and the same line for every path events record."""
    kind, result, lines = outcome(parse_yaml, text)
    node_kind, node_result, node_lines = outcome(parse_yaml_nodes, text)
    assert (kind, result) == (node_kind, node_result)
    # Paths inside an aliased value are not recorded by events (they fall back to the alias's line).
    assert {path: node_lines.get(path) for path in lines} == lines
    if "*" not in text:
        assert lines == node_lines


def test_the_repository_has_yaml_to_compare() -> None:
    names = {path.name for path in REPO_YAML}
    assert {"takeover-readiness.yml", "healthy.yaml", "win_faults.yaml"} <= names, names


@pytest.mark.parametrize("path", REPO_YAML, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_repository_yaml_means_the_same_from_events(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert_same(text)
    node_kind, _, _ = outcome(parse_yaml_nodes, text)
    # Every YAML jcfix ships is plain YAML: the event path builds it, nothing falls back.
    assert built_from_events(text) == (node_kind == "ok")


@pytest.mark.parametrize(("text", "by_events"), [(t, e) for _, t, e in CASES], ids=[i for i, _, _ in CASES])
def test_tricky_documents_mean_the_same_from_events(text: str, by_events: bool) -> None:
    assert_same(text)
    assert built_from_events(text) is by_events


@pytest.mark.parametrize(("text", "by_events"), [(t, e) for _, t, e in CASES], ids=[i for i, _, _ in CASES])
def test_the_pure_python_loader_means_the_same(monkeypatch: pytest.MonkeyPatch, text: str, by_events: bool) -> None:
    monkeypatch.setattr(yamllines, "_safe_loader", yaml.SafeLoader)
    assert_same(text)
    assert built_from_events(text) is by_events


@pytest.mark.parametrize("text", [t for _, t, _ in CASES] + ["a: 1\na: 2\n"], ids=[i for i, _, _ in CASES] + ["dup"])
def test_safe_load_bounded_means_the_same(text: str) -> None:
    def load(loader: Any) -> Any:
        try:
            return "ok", canonical(loader(text, "doc.yaml"))
        except (UsageError, ValueError, yaml.YAMLError) as exc:
            return "error", type(exc).__name__, str(exc)

    assert load(safe_load_bounded) == load(safe_load_bounded_nodes)


def test_safe_load_bounded_keeps_the_last_of_a_duplicate_key_from_events() -> None:
    # safe_load semantics: no duplicate check there, and the event path need not hand it over.
    assert built_from_events("a: 1\na: 2\n", refuse_duplicates=False)
    assert safe_load_bounded("a: 1\na: 2\n", "f") == {"a": 2}


def test_an_alias_shares_its_anchored_object() -> None:
    document, locations = parse_yaml("x: &x {a: [1]}\ny: [*x, *x]\nz: *x\n", "f.yaml")
    assert document["y"][0] is document["x"] and document["y"][1] is document["x"] and document["z"] is document["x"]
    # Inside an alias, a path falls back to the alias's line; a sequence item's line is its anchor's, as before.
    assert locations.line(("z", "a", 0)) == 3 and locations.line(("y", 1)) == 1


def test_errors_and_lines_read_as_before() -> None:
    with pytest.raises(UsageError, match=r"^doc\.yaml:3: a: given twice \(YAML keeps only the last one\)$"):
        parse_yaml("a: 1\nb: 2\na: 3\n", "doc.yaml")
    with pytest.raises(UsageError, match=r"^doc\.yaml:3: not valid YAML: "):
        parse_yaml("a:\n  b: 1\n c: 2\n", "doc.yaml")
    with pytest.raises(UsageError, match=r"^doc\.yaml:1: refused: aliases expand to more than 10,000 values"):
        parse_yaml(JUST_OVER, "doc.yaml")
    _, locations = parse_yaml("hosts:\n  pc-1:\n    port: 5985\n    jc_users:\n    - a\n    - b\n", "doc.yaml")
    assert locations.where(("hosts", "pc-1", "jc_users", 1)) == "doc.yaml:6"
    assert locations.where(("hosts", "pc-1", "port", "nothing")) == "doc.yaml:3"


def test_equal_short_strings_share_one_object() -> None:
    document, _ = parse_yaml("a: {scheme: https}\nb: {scheme: https}\nc: [https]\n", "f.yaml")
    assert document["a"]["scheme"] is document["b"]["scheme"] is document["c"][0]
    assert next(iter(document["a"])) is next(iter(document["b"]))


@pytest.mark.parametrize(("text", "by_events"), [(t, e) for _, t, e in CASES], ids=[i for i, _, _ in CASES])
def test_without_lines_the_data_and_errors_are_the_same(text: str, by_events: bool) -> None:
    def parse_without_lines(text: str, file: str) -> Any:
        document, locations = parse_yaml(text, file, lines=False)
        assert locations.lines == {} or not by_events  # the node path, when it decides, records them anyway
        return document, locations

    assert outcome(parse_without_lines, text)[:2] == outcome(parse_yaml_nodes, text)[:2]
