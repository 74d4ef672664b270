"""WS-Management SOAP for the lab listener: parse a request envelope, build responses and faults.

Responses follow the shape real Windows Remote Management sends (prefixes ``s``, ``a``, ``x``, ``w``,
``rsp``, ``p``; ``RelatesTo`` carrying the request's ``MessageID``; faults with a ``WSManFault`` detail
and its numeric ``Code``), because pypsrp parses them exactly so.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "pwsh": "http://schemas.microsoft.com/powershell",
}

TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
ACTION_CREATE = f"{TRANSFER}/Create"
ACTION_DELETE = f"{TRANSFER}/Delete"
ACTION_GET = f"{TRANSFER}/Get"
ACTION_COMMAND = f"{SHELL}/Command"
ACTION_SEND = f"{SHELL}/Send"
ACTION_RECEIVE = f"{SHELL}/Receive"
ACTION_SIGNAL = f"{SHELL}/Signal"
ACTION_FAULT = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"

COMMAND_STATE_DONE = f"{SHELL}/CommandState/Done"
COMMAND_STATE_RUNNING = f"{SHELL}/CommandState/Running"
SIGNAL_TERMINATE = f"{SHELL}/signal/terminate"
SIGNAL_CTRL_C = "powershell/signal/crtl_c"  # sic: the URI PowerShell and pypsrp use
CONFIG_URI = "http://schemas.microsoft.com/wbem/wsman/1/config"

# WSManFault codes, as Windows reports them (decimal HRESULTs).
CODE_OPERATION_TIMEOUT = 2150858793  # 0x80338029 ERROR_WSMAN_OPERATION_TIMEDOUT
CODE_SHELL_NOT_FOUND = 2150858843  # 0x8033805B ERROR_WSMAN_UNEXPECTED_SELECTORS / shell not found
CODE_NOT_SUPPORTED = 2147500033  # 0x80004001 E_NOTIMPL
CODE_INTERNAL = 2147500037  # 0x80004005 E_FAIL

OPERATION_TIMEOUT_MESSAGE = (
    "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  "
)

_DURATION = re.compile(r"^PT(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?$")


def parse_duration(text: str | None, default: float) -> float:
    """Seconds in an xs:duration such as ``PT20S`` or ``PT7200.000S``; ``default`` when absent or odd."""
    match = _DURATION.match((text or "").strip())
    if not match:
        return default
    hours, minutes, seconds = (float(match[g] or 0) for g in ("h", "m", "s"))
    return hours * 3600 + minutes * 60 + seconds


class WSManFault(Exception):
    """A fault to send back as a SOAP Fault with HTTP 500.

    Attributes:
        code: the WSManFault ``Code`` (a decimal HRESULT; pypsrp exposes it as ``WSManFaultError.code``).
        subcode: the SOAP subcode, e.g. ``w:TimedOut``.
        reason: the message text.
        sender: whether the fault blames the client (``s:Sender``) rather than the service.
    """

    def __init__(self, code: int, subcode: str, reason: str, *, sender: bool = False) -> None:
        super().__init__(reason)
        self.code = code
        self.subcode = subcode
        self.reason = reason
        self.sender = sender


def operation_timeout() -> WSManFault:
    return WSManFault(CODE_OPERATION_TIMEOUT, "w:TimedOut", OPERATION_TIMEOUT_MESSAGE)


def shell_not_found(shell_id: str) -> WSManFault:
    return WSManFault(
        CODE_SHELL_NOT_FOUND,
        "w:InvalidSelectors",
        f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not found "
        "on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on "
        "the server. Provide the correct ShellId or create a new shell and retry the operation. ",
        sender=True,
    )


@dataclass
class WSManRequest:
    """The parts of a request envelope the lab acts on.

    Attributes:
        action: the ``wsa:Action`` URI.
        message_id: the ``wsa:MessageID`` (echoed as ``RelatesTo``).
        resource_uri: the ``wsman:ResourceURI``.
        operation_timeout_s: ``wsman:OperationTimeout`` in seconds (default 60, as on Windows).
        max_envelope_size: ``wsman:MaxEnvelopeSize`` in bytes (default 153600).
        selectors: the ``SelectorSet`` by name (``ShellId``).
        options: the ``OptionSet`` by name.
        body: the first child of ``s:Body``, or None.
    """

    action: str
    message_id: str
    resource_uri: str
    operation_timeout_s: float = 60.0
    max_envelope_size: int = 153600
    selectors: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    body: ET.Element | None = None

    @property
    def short_action(self) -> str:
        """The action's last path segment (``Create``, ``Receive``...), for logs and recordings."""
        return self.action.rsplit("/", 1)[-1]


def _tag(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


# Clark names, matched directly: ElementTree's prefixed paths re-resolve the namespace map on every find.
_HEADER, _BODY = _tag("s", "Header"), _tag("s", "Body")
_SELECTOR_SET, _SELECTOR = _tag("wsman", "SelectorSet"), _tag("wsman", "Selector")
_OPTION_SET, _OPTION = _tag("wsman", "OptionSet"), _tag("wsman", "Option")


def parse_request(data: bytes) -> WSManRequest:
    """Parse a SOAP envelope; raises :class:`WSManFault` when it is not one the lab understands."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise WSManFault(CODE_INTERNAL, "w:SchemaValidationError", f"The request is not valid XML: {exc}") from None
    header = root.find(_HEADER)
    if header is None:
        raise WSManFault(CODE_INTERNAL, "w:SchemaValidationError", "The request has no SOAP header.", sender=True)
    first: dict[str, ET.Element] = {}
    for child in header:
        first.setdefault(child.tag, child)

    def text(prefix: str, name: str) -> str:
        element = first.get(_tag(prefix, name))
        return (element.text or "").strip() if element is not None else ""

    max_size = text("wsman", "MaxEnvelopeSize")
    request = WSManRequest(
        action=text("wsa", "Action"),
        message_id=text("wsa", "MessageID"),
        resource_uri=text("wsman", "ResourceURI"),
        operation_timeout_s=parse_duration(text("wsman", "OperationTimeout"), 60.0),
        max_envelope_size=int(max_size) if max_size.isdigit() else 153600,
    )
    for table, set_tag, item_tag in ((request.selectors, _SELECTOR_SET, _SELECTOR),
                                     (request.options, _OPTION_SET, _OPTION)):
        for group in header.iterfind(set_tag):
            for item in group.iterfind(item_tag):
                table[item.get("Name", "")] = (item.text or "").strip()
    body = root.find(_BODY)
    if body is not None and len(body):
        request.body = body[0]
    return request


_ENVELOPE_OPEN = (
    '<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" '
    'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
    'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" '
    'xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">'
)


def envelope(action: str, relates_to: str, body: str) -> bytes:
    """A response envelope for ``action`` answering the request with MessageID ``relates_to``."""
    header = (
        f"<s:Header><a:Action>{escape(action)}</a:Action>"
        f"<a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo></s:Header>"
    )
    return f"{_ENVELOPE_OPEN}{header}<s:Body>{body}</s:Body></s:Envelope>".encode()


def fault_envelope(fault: WSManFault, relates_to: str, machine: str) -> bytes:
    """The SOAP Fault Windows sends for ``fault`` (HTTP status 500)."""
    side = "s:Sender" if fault.sender else "s:Receiver"
    reason = escape(fault.reason)
    body = (
        f"<s:Fault><s:Code><s:Value>{side}</s:Value><s:Subcode><s:Value>{escape(fault.subcode)}</s:Value>"
        f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{reason}</s:Text></s:Reason>'
        '<s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" '
        f"Code={quoteattr(str(fault.code))} Machine={quoteattr(machine)}><f:Message>{reason}</f:Message>"
        "</f:WSManFault></s:Detail></s:Fault>"
    )
    return envelope(ACTION_FAULT, relates_to, body)


def shell_body(
    *,
    shell_id: str,
    resource_uri: str,
    owner: str,
    client_ip: str,
    idle_timeout_s: float,
    input_streams: str,
    output_streams: str,
    address: str,
    created: bool,
) -> str:
    """The ``rsp:Shell`` description (with ``x:ResourceCreated`` first when ``created``)."""
    shell = (
        f"<rsp:Shell><rsp:ShellId>{escape(shell_id)}</rsp:ShellId>"
        f"<rsp:ResourceUri>{escape(resource_uri)}</rsp:ResourceUri><rsp:Owner>{escape(owner)}</rsp:Owner>"
        f"<rsp:ClientIP>{escape(client_ip)}</rsp:ClientIP><rsp:ProcessId>4242</rsp:ProcessId>"
        f"<rsp:IdleTimeOut>PT{idle_timeout_s:.3f}S</rsp:IdleTimeOut>"
        f"<rsp:InputStreams>{escape(input_streams)}</rsp:InputStreams>"
        f"<rsp:OutputStreams>{escape(output_streams)}</rsp:OutputStreams>"
        "<rsp:MaxIdleTimeOut>PT2147483.647S</rsp:MaxIdleTimeOut><rsp:Locale>en-US</rsp:Locale>"
        "<rsp:DataLocale>en-US</rsp:DataLocale><rsp:CompressionMode>NoCompression</rsp:CompressionMode>"
        "<rsp:ProfileLoaded>Yes</rsp:ProfileLoaded><rsp:Encoding>UTF8</rsp:Encoding>"
        "<rsp:BufferMode>Block</rsp:BufferMode><rsp:State>Connected</rsp:State>"
        "<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity>"
        "</rsp:Shell>"
    )
    if not created:
        return shell
    created_xml = (
        f"<x:ResourceCreated><a:Address>{escape(address)}</a:Address><a:ReferenceParameters>"
        f"<w:ResourceURI>{escape(resource_uri)}</w:ResourceURI><w:SelectorSet>"
        f'<w:Selector Name="ShellId">{escape(shell_id)}</w:Selector></w:SelectorSet>'
        "</a:ReferenceParameters></x:ResourceCreated>"
    )
    return created_xml + shell


def receive_body(streams: list[str], command_id: str | None, done: bool) -> str:
    """A ``ReceiveResponse``: one ``stdout`` Stream per base64 PSRP fragment, then the command state."""
    attr = f" CommandId={quoteattr(command_id)}" if command_id else ""
    parts = [f'<rsp:Stream Name="stdout"{attr}>{chunk}</rsp:Stream>' for chunk in streams]
    if command_id:
        if done:
            parts.append(
                f"<rsp:CommandState{attr} State={quoteattr(COMMAND_STATE_DONE)}><rsp:ExitCode>0</rsp:ExitCode>"
                "</rsp:CommandState>"
            )
        else:
            parts.append(f"<rsp:CommandState{attr} State={quoteattr(COMMAND_STATE_RUNNING)}/>")
    return "<rsp:ReceiveResponse>" + "".join(parts) + "</rsp:ReceiveResponse>"


def config_body(max_envelope_size_kb: int) -> str:
    """The part of ``winrm get winrm/config`` pypsrp reads (``MaxEnvelopeSizekb``)."""
    return (
        '<cfg:Config xmlns:cfg="http://schemas.microsoft.com/wbem/wsman/1/config">'
        f"<cfg:MaxEnvelopeSizekb>{max_envelope_size_kb}</cfg:MaxEnvelopeSizekb>"
        "<cfg:MaxTimeoutms>60000</cfg:MaxTimeoutms><cfg:MaxBatchItems>32000</cfg:MaxBatchItems>"
        "</cfg:Config>"
    )
