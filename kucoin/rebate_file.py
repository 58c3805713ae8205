"""Streaming reader of KuCoin's ND rebate file (spec section 9).

KuCoin has not published the file's layout: columns are matched by header name through
COLUMNS, the one place to change when a real file is seen. Header names are compared
with whitespace trimmed and case ignored; a UTF-8 BOM is accepted; unknown columns are
kept as raw text in `extra`. Memory use does not grow with the file: rows are parsed one
at a time from a binary file object or an iterator of byte chunks (an HTTP response's
iter_content(), a stored file...).
"""
from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO, Callable, Iterable, Iterator


class RebateFileError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(f"rebate file, line {line}: {message}")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)  # yyyy-MM-dd and yyyyMMdd, fast
    except ValueError:
        pass
    for fmt in ("%Y/%m/%d", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise ValueError(f"not a date: {text!r}")


def _decimal(text: str) -> Decimal:
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    if not d.is_finite():
        raise ValueError(f"not an amount: {text!r}")
    return d


def _text(text: str) -> str:
    return text


@dataclass(frozen=True)
class Column:
    attr: str
    parse: Callable[[str], Any]
    required: bool = False
    aliases: tuple[str, ...] = ()


# The column mapping, held in one place. Header names are the sandbox's placeholder layout
# (spec 9), with a few obvious aliases; none is confirmed by a real KuCoin file.
COLUMNS: dict[str, Column] = {
    "date": Column("date", _date, required=True, aliases=("day", "tradeDate")),
    "uid": Column("uid", _text, required=True, aliases=("subUid", "userId", "clientUid")),
    "tradeType": Column("trade_type", _text, aliases=("bizType",)),
    "feeCurrency": Column("fee_currency", _text),
    "volume": Column("volume", _decimal, aliases=("tradeVolume", "amount")),
    "fee": Column("fee", _decimal, aliases=("tradeFee", "commission")),
    "rebateCurrency": Column("rebate_currency", _text, required=True, aliases=("currency", "coin")),
    "rebateAmount": Column("rebate_amount", _decimal, required=True, aliases=("rebate", "rebateValue")),
}


@dataclass(frozen=True, slots=True)
class RebateRow:
    line: int  # line number in the file (header is line 1)
    date: date
    uid: str
    rebate_currency: str
    rebate_amount: Decimal
    trade_type: str | None = None
    fee_currency: str | None = None
    volume: Decimal | None = None
    fee: Decimal | None = None
    extra: dict[str, str] = field(default_factory=dict)  # unknown columns, raw text


def _norm(name: str) -> str:
    return name.strip().lstrip("\ufeff").strip().casefold()


_LOOKUP: dict[str, str] = {}
for _canon, _col in COLUMNS.items():
    for _n in (_canon, *_col.aliases):
        _LOOKUP[_norm(_n)] = _canon


_BLOCK = 1 << 16
MAX_LINE_CHARS = 1 << 20  # bounds memory on a file without line breaks


def _lines_from_chunks(chunks: Iterable[bytes], encoding: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    pending = ""
    for chunk in chunks:
        if not chunk:
            continue
        buffered = decoder.getstate()[0]
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            # Hand on the whole lines before the bad byte, so that the error is reported at its own line.
            good = (buffered + chunk)[:exc.start].decode(encoding, errors="ignore")
            yield from (part + "\n" for part in (pending + good).split("\n")[:-1])
            raise
        parts = (pending + text).split("\n")
        pending = parts.pop()  # the unfinished last line
        if len(pending) > MAX_LINE_CHARS:
            raise RebateFileError(0, f"a line longer than {MAX_LINE_CHARS} characters: not a rebate file")
        for part in parts:
            yield part + "\n"
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def _text_lines(source: BinaryIO | Iterable[bytes], encoding: str) -> Iterator[str]:
    if hasattr(source, "read"):
        # Fixed-size blocks: faster than TextIOWrapper's line iteration, and memory stays bounded.
        read = source.read  # type: ignore[union-attr]
        return _lines_from_chunks(iter(lambda: read(_BLOCK), b""), encoding)
    return _lines_from_chunks(source, encoding)


def header_names(header: list[str]) -> list[str]:
    """The header's cells as names: whitespace and a UTF-8 BOM trimmed."""
    return [h.strip().lstrip("\ufeff").strip() for h in header]


def header_mapping(names: list[str]) -> list[str | None]:
    """The canonical column (a key of COLUMNS) of each header name, None for an unknown one. Raises
    RebateFileError (line 1) for a column named twice or a required one missing. Shared by this reader
    and by readers that let a database parse the lines (the back-office's PostgreSQL ingest)."""
    mapping: list[str | None] = []
    seen: set[str] = set()
    for n in names:
        canon = _LOOKUP.get(_norm(n))
        if canon in seen:
            raise RebateFileError(1, f"column {n!r} appears twice")
        if canon:
            seen.add(canon)
        mapping.append(canon)
    missing = [c for c, col in COLUMNS.items() if col.required and c not in seen]
    if missing:
        raise RebateFileError(1, f"missing column(s): {', '.join(missing)}")
    return mapping


def parse_date(text: str) -> date:
    """A day as the reader reads it (the same function), for readers that parse lines elsewhere."""
    return _date(text.strip())


def read_rebate_file(source: BinaryIO | Iterable[bytes], *, delimiter: str = ",",
                     encoding: str = "utf-8-sig") -> Iterator[RebateRow]:
    """Yield one RebateRow per data line; raise RebateFileError with the line number on a bad line."""
    lines = _text_lines(source, encoding)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except (csv.Error, UnicodeDecodeError) as exc:
        raise RebateFileError(1, str(exc)) from None
    names = header_names(header)
    mapping = header_mapping(names)
    width = len(names)
    positions = [(i, COLUMNS[c]) for i, c in enumerate(mapping) if c]
    unknown = [(i, names[i]) for i, c in enumerate(mapping) if c is None]

    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            raise RebateFileError(reader.line_num + 1, str(exc)) from None
        line = reader.line_num
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue  # blank line
        if len(cells) != width:
            raise RebateFileError(line, f"expected {width} fields, found {len(cells)}")
        values: dict[str, Any] = {}
        for i, col in positions:
            text = cells[i].strip()
            if not text:
                if col.required:
                    raise RebateFileError(line, f"{names[i]} is empty")
                values[col.attr] = None
                continue
            try:
                values[col.attr] = col.parse(text)
            except ValueError as exc:
                raise RebateFileError(line, f"{names[i]}: {exc}") from None
        extra = {name: cells[i] for i, name in unknown} if unknown else {}
        yield RebateRow(line=line, extra=extra, **values)
