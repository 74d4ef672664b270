"""Injection corpus: values travel as parameters, never as script text, and previews quote them exactly.

Every action in the registry is rendered with each combination of its boolean template options, and every
corpus value is passed as each of its ``string``/``string[]`` parameters. Then:

* the rendered script is byte-identical to the script rendered without any value, and a value never
  appears in it;
* the script and its :meth:`RenderedScript.preview` parse with tree-sitter-powershell with no ERROR or
  MISSING node;
* in the preview, each value is exactly one string-literal node that decodes (the way PowerShell's
  tokenizer does) back to the value, and the values add no statement to the preview.

``ps_literal`` is also checked directly over the corpus and with hypothesis. NUL: see ``pstree``'s
docstring and :func:`test_grammar_still_rejects_nul`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pstree
import pytest
from actioncases import all_renderings, option_id, required_fillers
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.actions import Action
from toolkit.errors import UsageError
from toolkit.templates import PREVIEW_SEPARATOR, RenderedScript, ps_literal

# ASCII ' and ", the four other single quotes (U+2018..U+201B), the three other double quotes (U+201C..U+201E).
QUOTES = "'\"\u2018\u2019\u201a\u201b\u201c\u201d\u201e"
SPECIALS = QUOTES + "$(){}`;|&\n\r\x00<>#@-%"

CORPUS: dict[str, str] = {
    # every quote kind, alone, doubled, tripled, at either end and in the middle
    **{f"quote-{ord(q):04x}": q for q in QUOTES},
    **{f"quote-{ord(q):04x}-x2": q * 2 for q in QUOTES},
    **{f"quote-{ord(q):04x}-x3": q * 3 for q in QUOTES},
    **{f"quote-{ord(q):04x}-ends": f"{q}x{q}" for q in QUOTES},
    "all-quotes": QUOTES,
    "all-quotes-reversed": QUOTES[::-1],
    "single-then-curly": "'\u2019",
    "curly-then-single": "\u2018'",
    # expansion and evaluation
    "subexpression": "$(Remove-Item -Recurse -Force C:\\)",
    "braced-variable": "${env:PATH}",
    "variable": "$env:COMPUTERNAME",
    "automatic-variable": "$true",
    "splat": "@PSBoundParameters",
    "backtick": "`",
    "backtick-escapes": "`n`r`t`0`a`'`\"",
    "backtick-at-end": "x`",
    # statement and pipeline separators
    "semicolon": ";",
    "pipe": "|",
    "ampersand": "&",
    "call-operator": "& calc.exe",
    "and-and": "a && b",
    "or-or": "a || b",
    "stop-parsing": "--% x",
    # line breaks and control characters
    "newline": "\n",
    "cr": "\r",
    "crlf": "\r\n",
    "line-then-statement": "x\nRemove-Item C:\\ -Recurse",
    "nul": "\x00",
    "nul-inside": "a\x00b",
    "nul-before-quote": "\x00'",
    "controls": "".join(chr(c) for c in range(1, 32)),
    "unicode-line-breaks": "\x85\u2028\u2029\x0b\x0c",
    # comments
    "block-comment-open": "<#",
    "block-comment-close": "#>",
    "block-comment": "<# x #>",
    "line-comment": "# x",
    # here-string delimiters
    "here-string-ends": "'@\n\"@\n@'\n@\"",
    # non-ASCII
    "latin": "Ünïcødé Ærøskøbing",
    "cjk": "日本語のユーザー",
    "astral": "\U0001f600\U0001f4a9",
    "rtl-override": "\u202eexe.txt",
    "zero-width": "a\u200bb\ufeffc",
    "nbsp-and-dashes": "\xa0\u2013\u2014\u2212",
    # sizes
    "empty": "",
    "spaces": "   ",
    "10000-a": "a" * 10_000,
    "10000-quotes": "'" * 10_000,
    "10000-mixed": (SPECIALS * (10_000 // len(SPECIALS) + 1))[:10_000],
    # combinations: break out of a literal, then run something
    "breakout-single": "'; Remove-Item C:\\ -Recurse; '",
    "breakout-curly": "\u2019)|iex;(\u2018",
    "breakout-low9": "\u201a + $(Stop-Computer) + \u201b",
    "breakout-double": '"; $(Stop-Computer) #',
    "breakout-comment": "'#>\n<#'",
    "breakout-newline": "'\nStop-Computer\n'",
    "breakout-nul": "'\x00; Stop-Computer; \x00'",
    "breakout-param": "-WhatIf:$false",
    "everything": SPECIALS + "Ünï\U0001f600" + "$(x)${y}",
}

CANARY_OPEN, CANARY_CLOSE = "\u00abjcfix-canary\u00bb", "\u00ab/jcfix-canary\u00bb"

VALUE_KINDS = ("string", "string[]")


def render_with(action: Action, options: Mapping[str, Any], param: str, value: Any) -> RenderedScript:
    """Render through the declaration, the other required parameters filled with accepted values."""
    return action.render({**required_fillers(action, skip=param), param: value}, **options)


def preview_of(action: Action, options: Mapping[str, Any], param: str, value: Any) -> RenderedScript:
    """The action as rendered with ``value``; when a validator refuses ``value`` (which is safe: it never
    reaches the host), the same script with ``value`` bound anyway, so the preview's quoting is still checked
    with every value."""
    try:
        return render_with(action, options, param, value)
    except UsageError as refused:
        assert param in str(refused)
    rendered = action.render(required_fillers(action), **options)
    return RenderedScript(rendered.action, rendered.version, rendered.script, {**rendered.parameters, param: value})


def targets() -> Iterator[tuple[Action, dict[str, Any], str, str]]:
    for action, options in all_renderings():
        for param in action.params:
            if param.kind in VALUE_KINDS:
                yield action, options, param.name, param.kind


TARGETS = list(targets())
TARGET_IDS = [f"{a.name}-{option_id(o)}-{p}" for a, o, p, _ in TARGETS]


def test_there_is_something_to_inject_into() -> None:
    # If the registry lost every string parameter this file would pass without checking anything.
    assert TARGETS, "no action has a string or string[] parameter"


def values_for(kind: str, value: str) -> list[str]:
    """The values a test sends: one value for ``string``, the value twice around a plain one for ``string[]``."""
    return [value] if kind == "string" else [value, "plain", value]


def assert_clean(parsed: pstree.Parsed, what: str) -> None:
    found = pstree.problems(parsed)
    assert not found, f"{what} does not parse cleanly:\n" + "\n".join(found[:10])


def top_level_statements(parsed: pstree.Parsed) -> int:
    lists = [c for c in parsed.root.children if c.type == "statement_list"]
    return sum(1 for sl in lists for c in sl.children if c.is_named and c.type != "comment")


@pytest.fixture(scope="module")
def baselines() -> dict[tuple[str, str], str]:
    """Each action/options script rendered without any value."""
    scripts = {}
    for action, options, _, _ in TARGETS:
        scripts[(action.name, option_id(options))] = action.render(required_fillers(action), **options).script
    return scripts


@pytest.mark.parametrize(("action", "options", "param", "kind"), TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("value", list(CORPUS.values()), ids=list(CORPUS))
def test_value_never_reaches_the_script(
    action: Action,
    options: dict[str, Any],
    param: str,
    kind: str,
    value: str,
    baselines: dict[tuple[str, str], str],
) -> None:
    sent = values_for(kind, value)
    given = sent if kind == "string[]" else value
    marked = CANARY_OPEN + value + CANARY_CLOSE
    for attempt in (given, [marked] if kind == "string[]" else marked):
        try:
            rendered = render_with(action, options, param, attempt)
        except UsageError as refused:
            # Refused by the declaration's validator: the value never reaches a script. Say which.
            assert param in str(refused)
            continue
        assert rendered.script == baselines[(action.name, option_id(options))]
        assert rendered.parameters[param] == attempt
        assert CANARY_OPEN not in rendered.script


@pytest.mark.parametrize(("action", "options", "param", "kind"), TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("value", list(CORPUS.values()), ids=list(CORPUS))
def test_preview_quotes_each_value_as_one_literal(
    action: Action, options: dict[str, Any], param: str, kind: str, value: str
) -> None:
    sent = values_for(kind, value)
    rendered = preview_of(action, options, param, sent if kind == "string[]" else value)
    script = pstree.parse(rendered.script)
    assert_clean(script, f"{action.name} script")

    preview_text = rendered.preview()
    assert preview_text.startswith(rendered.script.rstrip("\n") + "\n\n" + PREVIEW_SEPARATOR + "\n")
    preview = pstree.parse(preview_text)
    assert_clean(preview, f"{action.name} preview")
    # The parameters add exactly one statement (the hashtable) to what the script has.
    assert top_level_statements(preview) == top_level_statements(script) + 1

    entries = {e.key: e.value for e in pstree.parameter_entries(preview)}
    assert list(entries) == list(rendered.parameters)
    literals = pstree.string_literals(entries[param])
    assert [pstree.literal_value(preview, n) for n in literals] == sent
    # Every literal in the parameter section belongs to a parameter value: nothing split off.
    separator_at = len((rendered.script.rstrip("\n") + "\n\n").encode("utf-8"))
    after = [n for n in pstree.string_literals(preview.root) if n.start_byte >= separator_at]
    expected = sum(len(pstree.string_literals(node)) for node in entries.values())
    assert len(after) == expected


@pytest.mark.parametrize("value", list(CORPUS.values()), ids=list(CORPUS))
def test_ps_literal_over_the_corpus(value: str) -> None:
    assert_round_trip(value)


def assert_round_trip(value: str) -> None:
    assert_round_trip_of(value, ps_literal)


def assert_round_trip_of(value: str, quote: Callable[[str], str]) -> None:
    literal = quote(value)
    for template in ("$x = {}", "$x = @({0}, {0})", "Write-Output {} -InputObject 1"):
        source = template.format(literal)
        parsed = pstree.parse(source)
        assert_clean(parsed, f"ps_literal({value[:40]!r}) in {template!r}")
        literals = pstree.string_literals(parsed.root)
        assert len(literals) == template.count("{"), source[:200]
        for node in literals:
            assert parsed.text(node) == literal
            assert pstree.literal_value(parsed, node) == value


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.text(alphabet=st.sampled_from(SPECIALS + "ab \u00fc\U0001f600")),
        st.text(alphabet=st.sampled_from(QUOTES)),
    )
)
def test_ps_literal_round_trips(value: str) -> None:
    assert_round_trip(value)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'it''s'", "it's"),
        ("'\u2019\u2019'", "\u2019"),
        ("\u2018a'", "a"),  # any single-quote character opens and closes
        ("'a\u2019'b'", "a'b"),  # a pair of *different* quote characters: the second one is kept
        ("'$(x)`n'", "$(x)`n"),
        ("'a\x00b'", "a\x00b"),
        ("''", ""),
    ],
)
def test_decode_verbatim(literal: str, value: str) -> None:
    assert pstree.decode_verbatim(literal) == value


@pytest.mark.parametrize("bad", ["", "x", "'", "'abc", "'a'b'", "'a' ", '"a"', "'a''"])
def test_decode_verbatim_refuses_what_is_not_one_literal(bad: str) -> None:
    with pytest.raises(ValueError):
        pstree.decode_verbatim(bad)


def test_checker_sees_a_broken_literal() -> None:
    """A quoting that doubles only the ASCII quote must fail the check that ``assert_round_trip`` makes.

    tree-sitter-powershell knows only the ASCII ``'`` as a verbatim-string delimiter, so it sees this
    naive literal as one string node; PowerShell ends the string at the first U+2019. The decoder (a
    transcription of PowerShell's tokenizer) is what catches it, which is why every literal is decoded.
    """
    value = "\u2019; Stop-Computer; \u2019"
    naive = "'" + value.replace("'", "''") + "'"
    parsed = pstree.parse(f"$x = {naive}")
    (node,) = pstree.string_literals(parsed.root)
    assert parsed.text(node) == naive  # the grammar alone is fooled...
    with pytest.raises(ValueError, match="closes at offset 1"):
        pstree.literal_value(parsed, node)  # ...PowerShell's reading is not
    with pytest.raises((AssertionError, ValueError)):
        assert_round_trip_of(value, lambda v: "'" + v.replace("'", "''") + "'")


def test_problems_reports_errors() -> None:
    assert pstree.problems(pstree.parse("$x = 'open"))
    assert pstree.problems(pstree.parse("$x = (1"))
    assert not pstree.problems(pstree.parse("$x = 'closed'"))


def test_grammar_still_rejects_nul() -> None:
    """tree-sitter-powershell cannot hold a NUL byte; PowerShell can (see ``pstree``).

    If this fails, the grammar learned NUL: parse NULs as they are and drop ``pstree.NUL_STAND_IN``.
    """
    assert pstree.parse_raw("$x = 'a\x00b'").root_node.has_error
    parsed = pstree.parse("$x = 'a\x00b'")
    assert not pstree.problems(parsed)
    (node,) = pstree.string_literals(parsed.root)
    assert pstree.literal_value(parsed, node) == "a\x00b"


@pytest.mark.parametrize(
    "value",
    [None, 5, ["ok", 5], [b"bytes"], {"k": "v"}],
    ids=["none", "int", "int-in-list", "bytes-in-list", "dict"],
)
def test_non_text_values_are_refused(value: Any) -> None:
    # A value that is not text must be refused before rendering, not turned into text by str().
    for action, options, param, _ in TARGETS:
        with pytest.raises(UsageError, match=param):
            render_with(action, options, param, value)
