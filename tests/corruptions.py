"""Corrupted copies of monthly files, as an attacker would make them, and a plain line counter.

`corrupt(data, rng)` applies one to three damaging edits chosen with `rng` (a seeded
`random.Random`, so every file can be made again from its seed). `plain_data_lines` is the
independent count the ingest must balance against: the lines of the file after the header that
hold at least one byte, split where Python's `bytes.splitlines` splits (LF, CRLF or a lone CR),
after an optional UTF-8 byte-order mark.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

BOM = b"\xef\xbb\xbf"
NUMBER = "@number@"  # stands for a number too long for Python's int() until the text is made
ODD_DATES = [
    "2016-09-01T0\u00b9:09:00+00:00",  # superscript one: isdigit() but not int()
    "2016-09-01T0\u0661:09:00+00:00",  # Arabic-Indic one: a Unicode decimal digit
    "\u0662\u0660\u0661\u0666-09-01T01:09:00+00:00",
    "2016-09-01T01:09:00+0\u0661:00",
    "2016-02-30T10:00:00+00:00",
    "0000-01-01T00:00:00+00:00",
    "2016-09-01T24:00:00+00:00",
    "2016-09-01T10:00:60+00:00",
    "2016-09-01T10:00:00+99:99",
    "2016-09-01T10:00:00.123456789Z",
    " 2016-09-01 10:00:00 ",
    "2016-W35-4T10:00:00",
    "99999-09-01T10:00:00+00:00",
    "",
    "2016-09-01T10:00:00+00:00" * 40,
]
ODD_COORDINATES = [
    "nan",
    "inf",
    "-inf",
    "1e999",
    "-0",
    "0x1p3",
    "5" * 400,
    "52.\u0664",
    "\u0665\u0662.48",
    "52,48",
    "",
    " 52.48 ",
    "+52.48",
    ".5",
    "5.",
    "1e-400",
]
HEADER_VARIANTS: list[Callable[[bytes], bytes]] = [
    lambda h: h.lower(),
    lambda h: h.replace(b",", b" , "),
    lambda h: h.replace(b"Latitude", b"Lat"),
    lambda h: b",".join(reversed(h.split(b","))),
    lambda h: h + b",Extra",
    lambda h: BOM + h,
    lambda h: h.replace(b"Type", b'"Type"'),
    lambda h: h.replace(b"Type,", b""),
    lambda h: b"",
]
ENCODINGS = ["utf-16", "utf-16-le", "utf-32", "cp1252", "latin-1"]


def plain_data_lines(data: bytes) -> int:
    """Lines after the first that hold at least one byte (the rule the ingest promises)."""
    if data.startswith(BOM):
        data = data[len(BOM) :]
    return sum(1 for line in data.splitlines()[1:] if line)


def plain_records(data: bytes) -> int:
    """Records in an API answer the ingest accepted (numbers kept as text, bad bytes replaced)."""
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    return len(json.loads(text, parse_int=str, parse_float=str))


def _lines(data: bytes) -> tuple[list[bytes], bytes]:
    ending = b"\r\n" if b"\r\n" in data else b"\n"
    return data.split(ending), ending


def _edit_field(data: bytes, rng: random.Random, edit: Callable[[bytes], bytes]) -> bytes:
    lines, ending = _lines(data)
    if len(lines) < 2:
        return data
    index = rng.randrange(1, len(lines))
    fields = lines[index].split(b",")
    position = rng.randrange(len(fields))
    fields[position] = edit(fields[position])
    lines[index] = b",".join(fields)
    return ending.join(lines)


def _set_column(data: bytes, rng: random.Random, column: int, values: list[str]) -> bytes:
    lines, ending = _lines(data)
    if len(lines) < 2:
        return data
    index = rng.randrange(1, len(lines))
    fields = lines[index].split(b",")
    if len(fields) > column:
        fields[column] = rng.choice(values).encode("utf-8")
    lines[index] = b",".join(fields)
    return ending.join(lines)


def _lines_edit(data: bytes, rng: random.Random) -> bytes:
    lines, ending = _lines(data)
    index = rng.randrange(len(lines))
    choice = rng.randrange(7)
    if choice == 0:
        lines.insert(index, lines[index])
    elif choice == 1:
        del lines[index]
    elif choice == 2:
        lines.insert(index, b"")
    elif choice == 3:
        lines.insert(index, rng.choice([b" ", b"\t", b",,,", b"\x00", b"\x0c", b"\x85"]))
    elif choice == 4:
        lines.insert(index, lines[0])  # a header line again in the middle
    elif choice == 5:
        lines[index] = lines[index].rsplit(b",", 1)[0]
    else:
        lines[index] += b",extra" * rng.randint(1, 3)
    return ending.join(lines)


def _quote(data: bytes, rng: random.Random) -> bytes:
    edits: list[Callable[[bytes], bytes]] = [
        lambda f: b'"' + f,  # opened, never closed
        lambda f: f + b'"',
        lambda f: b'"' + f + b'"',  # valid quoting
        lambda f: b'"' + f + b'"x',  # text after the closing quote
        lambda f: b'"' + f + b',inner"',  # a comma inside quotes (one field fewer)
        lambda f: b'"' + f + b'""q"""',  # doubled quotes
        lambda f: b'"' + f + b"\r\n" + f + b'"',  # a line break inside quotes
        lambda f: f[: len(f) // 2] + b'"' + f[len(f) // 2 :],
    ]
    return _edit_field(data, rng, rng.choice(edits))


def _long(data: bytes, rng: random.Random) -> bytes:
    size = rng.choice([16 * 1024 + 1, 64 * 1024 + 1, 70_000, 300_000, 10 * 1024 * 1024])
    filler = rng.choice([b"A", b"\xc3\xa9", b" ", b'"'])
    padding = filler * (size // len(filler) + 1)
    if rng.random() < 0.3:  # one long line with no comma at all
        lines, ending = _lines(data)
        lines.insert(rng.randrange(1, max(2, len(lines))), padding)
        return ending.join(lines)
    return _edit_field(data, rng, lambda f: f + padding)


def _bytes(data: bytes, rng: random.Random) -> bytes:
    choice = rng.randrange(6)
    position = rng.randrange(len(data) + 1)
    if choice == 0:
        return data[:position]
    if choice == 1 and data:
        flipped = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        return bytes(flipped)
    if choice == 2:
        noise = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        return data[:position] + noise + data[position:]
    if choice == 3:
        return data[:position] + b"\x00" * rng.randint(1, 5) + data[position:]
    if choice == 4:
        end = rng.randrange(position, len(data) + 1)
        return data[:position] + data[end:]
    return data[:position] + rng.choice([BOM, b"\r", b"\n", b"\r\r\n", b"\n\r"]) + data[position:]


def _line_endings(data: bytes, rng: random.Random) -> bytes:
    lines, _ = _lines(data)
    endings = [b"\n", b"\r", b"\r\n", b"\n\r", b"\r\r\n"]
    if rng.random() < 0.5:
        return rng.choice(endings).join(lines)
    out = bytearray()
    for line in lines:
        out += line + rng.choice(endings)
    return bytes(out)


def _encoding(data: bytes, rng: random.Random) -> bytes:
    text = data.decode("utf-8", errors="replace").replace("White", "Whit\u00e9 \u2013")
    encoding = rng.choice(ENCODINGS)
    return text.encode(encoding, errors="replace")


def _header(data: bytes, rng: random.Random) -> bytes:
    lines, ending = _lines(data)
    lines[0] = rng.choice(HEADER_VARIANTS)(lines[0])
    return ending.join(lines)


CORRUPTIONS: list[Callable[[bytes, random.Random], bytes]] = [
    _bytes,
    _bytes,
    _lines_edit,
    _lines_edit,
    _quote,
    _quote,
    _long,
    _line_endings,
    _encoding,
    _header,
    lambda d, r: _set_column(d, r, 1, ODD_DATES),
    lambda d, r: _set_column(d, r, 1, ODD_DATES),
    lambda d, r: _set_column(d, r, r.choice([4, 5]), ODD_COORDINATES),
    lambda d, r: BOM + d,
]


def corrupt(data: bytes, rng: random.Random) -> bytes:
    """One to three damaging edits of `data`, chosen by `rng`."""
    for _ in range(rng.randint(1, 3)):
        data = rng.choice(CORRUPTIONS)(data, rng)
    return data


def first_lines(data: bytes, count: int) -> bytes:
    """The header and the first `count` data lines (a small base keeps the tests quick)."""
    lines, ending = _lines(data)
    return ending.join(lines[: count + 1]) + ending


def corrupt_json(records: list[dict], rng: random.Random) -> bytes:
    """An `/api/stops-force` answer made from `records`, then damaged (JSON's own faults)."""
    records = [dict(r) for r in records]
    index = rng.randrange(len(records)) if records else 0
    choice = rng.randrange(9) if records else rng.choice([5, 6, 7, 8])
    number = ""
    if choice == 0:
        number = "9" * rng.choice([19, 20, 64, 65])
        records[index]["location"] = {"street": {"id": NUMBER}, "latitude": "52.4"}
    elif choice == 1:
        number = rng.choice(["7" * 64, "7" * 65, "7" * 5000, "1." + "5" * 5000, "1e99999"])
        records[index]["age_range"] = NUMBER
    elif choice == 2:
        records[index]["legislation"] = "x" * rng.choice([16 * 1024, 16 * 1024 + 1, 10**6])
    elif choice == 3:
        records[index] = rng.choice([[], "text", 7, None, {"type": {"nested": [1, 2]}}])
    elif choice == 4:
        records[index]["datetime"] = rng.choice(ODD_DATES)
    text = json.dumps(records, indent=rng.choice([None, 1])).replace(f'"{NUMBER}"', number)
    if choice == 5:
        depth = rng.choice([63, 64, 65, 100_000])
        text = "[" * depth + "]" * depth
    elif choice == 6:
        text = text[: rng.randrange(len(text) + 1)]
    elif choice == 7:
        text = '{"records": ' + text + "}"
    data = text.encode("utf-8")
    return _bytes(data, rng) if choice == 8 else data


ASCII_STAND_INS = b'",\n\r \t\x00\x0cxA9-.:'


def ascii_only(data: bytes, rng: random.Random) -> bytes:
    """`data` with each non-ASCII byte value replaced by an ASCII one chosen by `rng` (quotes,
    commas and line breaks among them), so the damage reaches the parser's ASCII fast path. A
    leading byte-order mark stays: the reader drops it before parsing."""
    table = bytes(range(128)) + bytes(rng.choice(ASCII_STAND_INS) for _ in range(128))
    bom = BOM if data.startswith(BOM) else b""
    return bom + data[len(bom) :].translate(table)
