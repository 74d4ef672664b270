"""The HTML report (jinja2 templates shipped in the package): escaping, the last diagnosis decides "with
blockers", hosts with blockers first, skipped steps hidden unless asked, "1 host", streaming."""

from __future__ import annotations

import tracemalloc
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path

from report_support import STARTED, facts_result, facts_step, record, rendered_dom

from toolkit.facts import HostFacts
from toolkit.recorder import HOST_STATUSES, RunMeta, RunSummary
from toolkit.report.html import HOST_TEMPLATE, PAGE_TEMPLATE, HtmlRecorder
from toolkit.rules import Finding
from toolkit.runner import HostReport, skipped_result
from toolkit.transport.base import HostTarget

EVIL_HOST = '<script>alert("host")</script>\'x'
EVIL_MESSAGE = 'it\'s "quoted" <img src=x onerror=alert(1)> & </td></tr></table><script>alert(2)</script>'
EVIL_CODE = 'CODE"><script>alert(3)</script>'


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of the page (entities resolved)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str, css_class: str | None = None) -> list[dict[str, str | None]]:
        return [
            a for t, a in self.tags if t == tag and (css_class is None or css_class in (a.get("class") or "").split())
        ]


def parse(path: Path) -> _Tags:
    page = _Tags()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _evil_findings(target: HostTarget, facts: HostFacts) -> Sequence[Finding]:
    return [Finding(EVIL_CODE, "blocker", EVIL_MESSAGE, subject='"subject"', fix=f"jcfix fix x --host '{target.name}'")]


def test_names_and_messages_render_inert(tmp_path: Path) -> None:
    users, result = facts_result("case")
    report = HostReport(HostTarget(EVIL_HOST, vars={"jc_users": users}), [(facts_step(), result)])
    path = tmp_path / "report.html"
    record(HtmlRecorder(path, findings_for=_evil_findings), [report], run_id="r-<b>evil</b>")
    text = path.read_text(encoding="utf-8")
    page = parse(path)
    # One script, the page's own; no injected image; nothing of the run's data became markup.
    assert len(page.all("script")) == 1 and page.all("img") == [] and page.all("b") == []
    assert "alert(1)" not in "".join(a.get("onerror") or "" for _, a in page.tags)
    (section,) = page.all("section", "host")
    assert section["data-host"] == EVIL_HOST  # attribute values round-trip exactly: quotes escaped
    assert section["data-codes"] == EVIL_CODE
    assert [a["data-code"] for a in page.all("tr", "finding")] == [EVIL_CODE]
    assert EVIL_CODE in [a.get("value") for a in page.all("option")]
    assert EVIL_MESSAGE in page.text and '"subject"' in page.text and "jcfix run r-<b>evil</b>" in page.text
    assert "<script>alert" not in text and "<img" not in text
    assert "&lt;script&gt;alert(&#34;host&#34;)&lt;/script&gt;&#39;x" in text


def _diagnosed_twice(name: str, first: list[Finding], second: list[Finding]) -> HostReport:
    """A host diagnosed, then diagnosed again (after fixes): the rules' findings of each, as a playbook records."""
    users, result = facts_result("healthy")
    report = HostReport(HostTarget(name, vars={"jc_users": users}), [(facts_step(), result), (facts_step(), result)])
    report.diagnoses = {0: first, 1: second}
    return report


def test_the_last_diagnosis_decides_and_hosts_with_blockers_come_first(tmp_path: Path) -> None:
    blocker = Finding("CASE_MISMATCH", "blocker", "differs in case", subject="Jonathan")
    pin = Finding("HELLO_PIN_SET", "blocker", "a PIN", subject="maria")
    reports = [
        _diagnosed_twice("pc-fixed", [blocker], []),  # the fix worked: no blocker left
        _diagnosed_twice("pc-left", [blocker, pin], [pin]),  # one blocker left
        _diagnosed_twice("pc-clean", [], []),
        _diagnosed_twice("pc-new", [], [blocker]),
    ]
    path = tmp_path / "report.html"
    record(HtmlRecorder(path), reports)
    page = parse(path)
    (total,) = [a for _, a in page.tags if a.get("id") == "total"]
    assert total["data-blocked"] == "2" and "4 hosts, 2 with blockers" in "".join(page.text)
    hosts = {a["data-host"]: a for a in page.all("section", "host")}
    assert list(hosts) == ["pc-left", "pc-new", "pc-fixed", "pc-clean"]
    assert {h: a["data-blocked"] for h, a in hosts.items()} == {
        "pc-left": "yes",
        "pc-new": "yes",
        "pc-fixed": "no",
        "pc-clean": "no",
    }
    # A host's codes (what the code filter finds) are those that stand; the replaced ones stay visible, marked.
    assert hosts["pc-fixed"]["data-codes"] == "" and hosts["pc-left"]["data-codes"] == "HELLO_PIN_SET"
    assert len(page.all("tr", "superseded")) == 3
    options = [a.get("value") for a in page.all("option")]
    assert "CASE_MISMATCH" in options and "HELLO_PIN_SET" in options
    assert "CASE_MISMATCH (blocker, 1 host)" in page.text and "HELLO_PIN_SET (blocker, 1 host)" in page.text


def test_one_host_is_one_host(tmp_path: Path) -> None:
    users, result = facts_result("case")
    path = tmp_path / "report.html"
    record(HtmlRecorder(path), [HostReport(HostTarget("pc-1", vars={"jc_users": users}), [(facts_step(), result)])])
    text = "".join(parse(path).text)
    assert "1 host, 1 with blockers" in text and "Showing 1 of 1 host" in text and "1 hosts" not in text


def _skipping_host(tmp_path: Path) -> Path:
    """A host whose second step was skipped by its condition (a STEP_SKIPPED info finding)."""
    users, result = facts_result("healthy")
    skipped = skipped_result("list_users", "condition is false: provisioning.blockers > 0")
    steps = [(facts_step(), result), (facts_step(), skipped)]
    report = HostReport(HostTarget("pc-skip", vars={"jc_users": users}), steps)
    path = tmp_path / "report.html"
    record(HtmlRecorder(path), [report])
    return path


def _skipped_rows(page: _Tags) -> list[dict[str, str | None]]:
    return [a for t, a in page.tags if "step-skipped" in (a.get("class") or "").split()]


def test_skipped_steps_are_hidden_in_the_page_as_written(tmp_path: Path) -> None:
    page = parse(_skipping_host(tmp_path))
    rows = _skipped_rows(page)
    # The skipped step's row and its finding's row; not the tables, which also hold rows that are not skipped.
    assert [(t, "hidden" in a) for t, a in page.tags if a in rows] == [("tr", True), ("tr", True)]
    assert [a["data-code"] for a in page.all("tr", "finding") if "hidden" in a] == ["STEP_SKIPPED"]
    assert all("hidden" not in a for a in page.all("tr", "finding") if a["data-code"] != "STEP_SKIPPED")
    assert "STEP_SKIPPED" in [a.get("value") for a in page.all("option")]  # how one asks for them


def test_skipped_steps_show_when_asked_in_chromium(tmp_path: Path) -> None:
    path = _skipping_host(tmp_path)
    profile = tmp_path / "chromium-profile"
    asked = (("", False), ("skipped=yes", True), ("code=STEP_SKIPPED", True), ("code=TAKEN_OVER", False))
    for fragment, shown in asked:
        page = _Tags()
        page.feed(rendered_dom(path, fragment, profile))
        rows = _skipped_rows(page)
        assert len(rows) == 2 and all(("hidden" in a) is not shown for a in rows), fragment


def test_templates_ship_in_the_package() -> None:
    import importlib.resources

    root = importlib.resources.files("toolkit.report").joinpath("templates")
    assert root.joinpath(PAGE_TEMPLATE).is_file() and root.joinpath(HOST_TEMPLATE).is_file()


def _peak_bytes(tmp_path: Path, hosts: int) -> int:
    """Peak memory allocated while ``hosts`` hosts go through ``host_done`` (one diagnosed host, repeated)."""
    users, result = facts_result("case")
    report = HostReport(HostTarget("pc-a", vars={"jc_users": users}), [(facts_step(), result)])
    recorder = HtmlRecorder(tmp_path / f"report-{hosts}.html", findings_for=_evil_findings)
    recorder.start(RunMeta("r-1", "jcfix diagnose", None, "tester", STARTED, False, hosts))
    tracemalloc.start()
    try:
        for _ in range(hosts):
            recorder.host_done(report)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        recorder.finish(RunSummary(dict.fromkeys(HOST_STATUSES, 0), False, STARTED, 0))


def test_memory_stays_flat_in_the_number_of_hosts(tmp_path: Path) -> None:
    # Sections go to spool files as hosts finish: ten times the hosts, not ten times the memory.
    small, large = _peak_bytes(tmp_path, 100), _peak_bytes(tmp_path, 1000)
    assert large < small * 2, (small, large)
    page = (tmp_path / "report-1000.html").read_text(encoding="utf-8")
    assert page.count('<section class="host') == 1000 and page.rstrip().endswith("</html>")
