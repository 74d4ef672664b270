"""Text encodings as Windows PowerShell 5.1's file cmdlets use them
(learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_character_encoding?view=powershell-5.1):

- reading (Get-Content, script files): a byte order mark decides (UTF-8, UTF-16 LE/BE, UTF-32); without one,
  the ``-Encoding`` given, else the ANSI code page (Windows-1252 on English and Western European systems);
- writing (Set-Content): ``Default`` (ANSI) unless ``-Encoding``; ``UTF8`` writes a BOM in 5.1; ``Unicode`` is
  UTF-16 LE with a BOM.
"""

from __future__ import annotations

BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
# The ANSI code page of a system language (Windows' default locale tables); Western languages use 1252.
ANSI_CODE_PAGES = {"ru-RU": "cp1251", "pl-PL": "cp1250", "cs-CZ": "cp1250", "tr-TR": "cp1254", "el-GR": "cp1253"}
ENCODING_NAMES = {
    "utf8": "utf-8", "unicode": "utf-16-le", "string": "utf-16-le", "unknown": "utf-16-le",
    "bigendianunicode": "utf-16-be", "utf32": "utf-32-le", "bigendianutf32": "utf-32-be", "ascii": "ascii",
    "utf7": "utf-7", "oem": "cp437", "default": "ansi",
}  # fmt: skip
WRITE_BOMS = {
    "utf-8": b"\xef\xbb\xbf",
    "utf-16-le": b"\xff\xfe",
    "utf-16-be": b"\xfe\xff",
    "utf-32-le": b"\xff\xfe\x00\x00",
}


def ansi_codec(language: str) -> str:
    return ANSI_CODE_PAGES.get(language, "cp1252")


def decode_text(data: bytes, encoding: str | None, language: str = "en-US") -> str:
    """Bytes as Get-Content reads them with ``-Encoding encoding`` (None: not given)."""
    for bom, codec in BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    codec = ENCODING_NAMES.get((encoding or "default").lower(), "ansi")
    if codec == "ansi":
        return _ansi_decode(data, ansi_codec(language))
    if codec == "ascii":
        return "".join(chr(b) if b < 0x80 else "?" for b in data)
    return data.decode(codec, errors="replace")


def _ansi_decode(data: bytes, codec: str) -> str:
    out = []
    for byte in data:
        if byte < 0x80:
            out.append(chr(byte))
            continue
        try:
            out.append(bytes([byte]).decode(codec))
        except UnicodeDecodeError:
            out.append(chr(byte))
    return "".join(out)


def encode_text(text: str, encoding: str | None, language: str = "en-US") -> bytes:
    """Text as Set-Content writes it with ``-Encoding encoding`` (None: the 5.1 default, ANSI)."""
    codec = ENCODING_NAMES.get((encoding or "default").lower(), "ansi")
    if codec == "ansi":
        return text.encode(ansi_codec(language), errors="replace")
    if codec == "ascii":
        return text.encode("ascii", errors="replace")
    return WRITE_BOMS.get(codec, b"") + text.encode(codec)


def split_lines(text: str) -> list[str]:
    """Lines as StreamReader.ReadLine returns them (CR, LF or CRLF end a line; no empty last line)."""
    lines: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char in "\r\n":
            lines.append("".join(current))
            current = []
            if char == "\r" and index + 1 < len(text) and text[index + 1] == "\n":
                index += 1
        else:
            current.append(char)
        index += 1
    if current:
        lines.append("".join(current))
    return lines
