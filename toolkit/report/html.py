"""``--html FILE``: one self-contained page an admin can send to a colleague.

Inline CSS and JavaScript, no network: summary counts per status and per finding code, filters by status
and by finding code, and per host its steps, errors, findings and the jcfix command that fixes each.

The filter state lives in the URL hash (``report.html#status=failed&code=CASE_MISMATCH``), so a filtered
view is a link one can send, and the page can be checked by loading two URLs in a headless browser.
Each host's section is spooled as the host finishes; the page is assembled at ``finish``.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from toolkit.recorder import HOST_STATUSES, RunMeta, RunSummary
from toolkit.report.spool import Spool
from toolkit.report.view import FindingsFor, changed_then_failed, default_findings, host_label, host_reason, step_views
from toolkit.runner import HostReport

CSS = """
:root { --ok:#1a7f37; --changed:#9a6700; --pending:#0969da; --failed:#cf222e; --unreachable:#8250df;
  --skipped:#6e7781; --border:#d0d7de; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; }
body { margin: 0 auto; max-width: 1200px; padding: 1rem 2rem; color: #1f2328; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.5rem; } code { font-size: .9em; }
.meta { color: #57606a; margin: 0; }
.counts { display: flex; gap: .75rem; flex-wrap: wrap; padding: 0; list-style: none; }
.counts a { display: block; padding: .5rem 1rem; border: 1px solid var(--border); border-radius: 6px;
  text-decoration: none; color: inherit; min-width: 6rem; }
.counts .n { display: block; font-size: 1.6rem; font-weight: 600; }
.filters { display: flex; gap: 1.5rem; align-items: center; padding: .75rem 0; border-bottom: 1px solid var(--border); }
.host { border: 1px solid var(--border); border-left-width: 6px; border-radius: 6px; margin: .75rem 0;
  padding: .5rem 1rem; }
.host[hidden] { display: none; }
.host h3 { margin: .25rem 0; font-size: 1rem; }
.badge { display: inline-block; padding: 0 .5rem; border-radius: 1rem; color: #fff; font-size: .8rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: .9rem; }
th, td { text-align: left; border-bottom: 1px solid var(--border); padding: .25rem .5rem; vertical-align: top; }
.fix code { user-select: all; background: #f6f8fa; padding: 0 .25rem; }
.sev-blocker { color: var(--failed); font-weight: 600; } .sev-warning { color: var(--changed); }
""" + "".join(
    f".status-{s} {{ border-left-color: var(--{s}); }} .badge.status-{s} {{ background: var(--{s}); }}\n"
    for s in HOST_STATUSES
)

# Reads the filter from the URL hash, shows matching hosts only, and writes the hash back when a filter
# changes: plain DOM, no framework, works from a file:// URL.
SCRIPT = """
(function () {
  var hosts = Array.prototype.slice.call(document.querySelectorAll("section.host"));
  var byStatus = document.getElementById("filter-status");
  var byCode = document.getElementById("filter-code");
  function filters() {
    var wanted = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (pair) {
      var at = pair.indexOf("=");
      if (at > 0) { wanted[decodeURIComponent(pair.slice(0, at))] = decodeURIComponent(pair.slice(at + 1)); }
    });
    return { status: wanted.status || "", code: wanted.code || "" };
  }
  function apply() {
    var f = filters(), shown = 0;
    byStatus.value = f.status;
    byCode.value = f.code;
    hosts.forEach(function (host) {
      var codes = " " + host.getAttribute("data-codes") + " ";
      var match = (!f.status || host.getAttribute("data-status") === f.status) &&
                  (!f.code || codes.indexOf(" " + f.code + " ") >= 0);
      host.hidden = !match;
      if (match) { shown += 1; }
    });
    var label = document.getElementById("shown");
    label.textContent = "Showing " + shown + " of " + hosts.length + " hosts";
    label.setAttribute("data-shown", String(shown));
  }
  function update() {
    var parts = [];
    if (byStatus.value) { parts.push("status=" + encodeURIComponent(byStatus.value)); }
    if (byCode.value) { parts.push("code=" + encodeURIComponent(byCode.value)); }
    location.hash = parts.join("&");
  }
  byStatus.addEventListener("change", update);
  byCode.addEventListener("change", update);
  window.addEventListener("hashchange", apply);
  apply();
})();
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


class HtmlRecorder:
    """Writes a run as one self-contained HTML page to ``path`` at ``finish``."""

    def __init__(self, path: Path, findings_for: FindingsFor = default_findings) -> None:
        self.path = path
        self.findings_for = findings_for
        self.meta: RunMeta | None = None
        self.hosts = 0
        self.hosts_with_blockers = 0
        self.changed_then_failed = 0
        # code -> (severity, hosts with it): small, bounded by the rules' codes, not by the fleet.
        self.codes: dict[str, tuple[str, int]] = {}
        self._spool: Spool | None = None

    def start(self, meta: RunMeta) -> None:
        """Open the spool."""
        self.meta = meta
        self._spool = Spool(self.path)

    def host_done(self, report: HostReport) -> None:
        """Spool the host's section: status, reason, steps, findings and fix commands."""
        assert self._spool is not None, "start() first"
        self.hosts += 1
        status = report.status
        views = list(step_views(report, self.findings_for))
        findings = [f for view in views for f in view.findings]
        codes = sorted({f.code for f in findings})
        for code in codes:
            severity = next(f.severity for f in findings if f.code == code)
            self.codes[code] = (severity, self.codes.get(code, (severity, 0))[1] + 1)
        if any(f.severity == "blocker" for f in findings):
            self.hosts_with_blockers += 1
        name = report.target.name
        self.changed_then_failed += changed_then_failed(report)
        parts = [
            f'<section class="host status-{_e(status)}" id="host-{self.hosts}" data-host="{_e(name)}" '
            f'data-status="{_e(status)}" data-label="{_e(host_label(report))}" data-codes="{_e(" ".join(codes))}">',
            f'<h3>{_e(name)} <span class="badge status-{_e(status)}">{_e(host_label(report))}</span></h3>',
        ]
        reason = host_reason(report)
        if reason:
            parts.append(f'<p class="reason">{_e(reason)}</p>')
        if views:
            parts.append("<table class='steps'><tr><th>Step</th><th>Action</th><th>Status</th><th>Error</th></tr>")
            for view in views:
                # "failed (changed)": the host was changed before the step failed (it may need jcfix undo).
                state = view.label + (" (check mode)" if view.whatif else "")
                state += ", changed" if view.changed and view.status != "failed" else ""
                error = f"{view.error_category}: {view.error_message}" if view.error_category else ""
                parts.append(
                    f"<tr><td>{_e(view.name)}</td><td>{_e(view.action)}</td><td>{_e(state)}</td><td>{_e(error)}</td></tr>"
                )
            parts.append("</table>")
        if findings:
            parts.append(
                "<table class='findings'><tr><th>Severity</th><th>Code</th><th>JumpCloud user</th>"
                "<th>What is wrong</th><th>Fix</th></tr>"
            )
            for f in findings:
                fix = f"<code>{_e(f.fix)}</code>" if f.fix else ""
                parts.append(
                    f"<tr class='finding' data-code='{_e(f.code)}'>"
                    f"<td class='sev-{_e(f.severity)}'>{_e(f.severity)}</td>"
                    f"<td>{_e(f.code)}</td><td>{_e(f.subject or '')}</td><td>{_e(f.message)}</td>"
                    f"<td class='fix'>{fix}</td></tr>"
                )
            parts.append("</table>")
        parts.append("</section>\n")
        self._spool.write("".join(parts))

    def finish(self, summary: RunSummary) -> None:
        """Write the page: header, summary, filters, the spooled hosts, the script."""
        assert self._spool is not None and self.meta is not None, "start() first"
        meta = self.meta
        title = f"jcfix run {meta.run_id}"
        what = meta.playbook or meta.command
        mode = "check mode (nothing changed)" if meta.check_mode else "apply"
        ended = "interrupted" if summary.interrupted else "finished"
        counts = "".join(
            f'<li><a class="count status-{s}" href="#status={s}" data-status="{s}">'
            f'<span class="n">{summary.counts.get(s, 0)}</span>{s}</a></li>'
            for s in HOST_STATUSES
        )
        status_options = "".join(
            f'<option value="{s}">{s} ({summary.counts.get(s, 0)})</option>' for s in HOST_STATUSES
        )
        code_options = "".join(
            f'<option value="{_e(code)}">{_e(code)} ({severity}, {n} hosts)</option>'
            for code, (severity, n) in sorted(self.codes.items())
        )
        changed = (
            f', <span id="changed-then-failed" data-hosts="{self.changed_then_failed}">{self.changed_then_failed} '
            "failed after changing the host (see jcfix undo)</span>"
            if self.changed_then_failed
            else ""
        )
        stopped = f"<p class='meta'>Stopped early: {_e(summary.stopped_reason)}</p>" if summary.stopped_reason else ""
        header = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{CSS}</style></head>
<body>
<header><h1>{_e(title)}</h1>
<p class="meta"><code>{_e(what)}</code></p>
<p class="meta">by {_e(meta.user)}, started {_e(meta.started.isoformat(timespec="seconds"))}, {ended}
{_e(summary.ended.isoformat(timespec="seconds"))}; {mode}; exit code {summary.exit_code}</p>{stopped}</header>
<section id="summary"><h2>Summary</h2>
<p id="total" data-hosts="{self.hosts}">{self.hosts} hosts, {self.hosts_with_blockers} with blockers{changed}</p>
<ul class="counts">{counts}</ul></section>
<nav class="filters">
<label>Status <select id="filter-status"><option value="">all</option>{status_options}</select></label>
<label>Finding <select id="filter-code"><option value="">all</option>{code_options}</select></label>
<span id="shown" data-shown="{self.hosts}">Showing {self.hosts} of {self.hosts} hosts</span>
</nav>
<main id="hosts"><h2>Hosts</h2>
"""
        footer = f"</main>\n<script>{SCRIPT}</script>\n</body></html>\n"
        self._spool.assemble(header, footer)
