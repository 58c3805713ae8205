"""Rebate file reader: by header name, BOM and whitespace tolerated, Decimal amounts, unknown
columns kept, malformed lines reported with their line number, streamed from bytes."""
import io
from datetime import date
from decimal import Decimal

import pytest

from kucoin.rebate_file import COLUMNS, RebateFileError, read_rebate_file

HEADER = "date,uid,tradeType,feeCurrency,volume,fee,rebateCurrency,rebateAmount"
LINE = "2024-06-10,100000001,SPOT,USDT,12500.50,12.5005,USDT,5.00020000"


def rows(text: str | bytes, chunk: int | None = None):
    data = text.encode("utf-8") if isinstance(text, str) else text
    if chunk:
        return list(read_rebate_file(data[i:i + chunk] for i in range(0, len(data), chunk)))
    return list(read_rebate_file(io.BytesIO(data)))


def test_placeholder_layout():
    [r] = rows(f"{HEADER}\n{LINE}\n")
    assert (r.line, r.date, r.uid, r.trade_type, r.rebate_currency) == (2, date(2024, 6, 10), "100000001", "SPOT",
                                                                        "USDT")
    assert (r.volume, r.fee, r.rebate_amount) == (Decimal("12500.50"), Decimal("12.5005"), Decimal("5.00020000"))
    assert isinstance(r.rebate_amount, Decimal) and r.extra == {}


def test_by_header_name_with_bom_whitespace_crlf_and_unknown_columns():
    header = "\ufeff rebateAmount , Note ,UID,  date ,rebateCurrency"
    [r] = rows(f"{header}\r\n 1.5 , hello world ,42,2024-06-11 , USDT\r\n".encode("utf-8"))
    assert (r.uid, r.date, r.rebate_amount, r.rebate_currency) == ("42", date(2024, 6, 11), Decimal("1.5"), "USDT")
    assert r.extra == {"Note": " hello world "}  # raw text, untouched
    assert r.volume is None and r.trade_type is None


def test_streaming_from_tiny_chunks_splitting_multibyte_characters():
    text = f"{HEADER},memo\n{LINE},café 中文\n{LINE},\"a,b\"\n"
    a, b = rows(text, chunk=3)
    assert a.extra == {"memo": "café 中文"} and b.extra == {"memo": "a,b"} and b.line == 3


def test_blank_lines_skipped_and_line_numbers_kept():
    r = rows(f"{HEADER}\n{LINE}\n\n{LINE}\n")
    assert [x.line for x in r] == [2, 4]


@pytest.mark.parametrize("bad,line,words", [
    ("2024-06-10,1,SPOT,USDT,1,1,USDT", 3, "expected 8 fields"),
    ("2024-06-10,1,SPOT,USDT,1,1,USDT,abc", 3, "rebateAmount"),
    ("2024-13-10,1,SPOT,USDT,1,1,USDT,1", 3, "date"),
    ("2024-06-10,1,SPOT,USDT,1,1,USDT,", 3, "rebateAmount is empty"),
    ("2024-06-10,1,SPOT,USDT,1,1,USDT,NaN", 3, "rebateAmount"),
])
def test_malformed_line_raises_with_line_number(bad, line, words):
    with pytest.raises(RebateFileError, match=words) as ei:
        rows(f"{HEADER}\n{LINE}\n{bad}\n{LINE}\n")
    assert ei.value.line == line and f"line {line}" in str(ei.value)


def test_missing_required_column_and_bad_encoding():
    with pytest.raises(RebateFileError, match="missing column") as ei:
        rows("date,uid\n2024-06-10,1\n")
    assert ei.value.line == 1
    with pytest.raises(RebateFileError):
        rows(f"{HEADER}\n".encode() + b"\xff\xfe,,\n")


def test_empty_file_yields_nothing():
    assert rows("") == []


def test_mapping_held_in_one_place():
    assert {c.attr for c in COLUMNS.values()} >= {"date", "uid", "rebate_currency", "rebate_amount"}


def test_rows_are_yielded_lazily():
    def endless():
        yield (HEADER + "\n").encode()
        while True:
            yield (LINE + "\n").encode()

    it = read_rebate_file(endless())
    assert [next(it).line for _ in range(3)] == [2, 3, 4]


def test_memory_does_not_grow_with_the_file():
    """Allocation peak while reading 60,000 rows stays far below the file's size (~4 MB)."""
    import tracemalloc

    def gen(n):
        yield (HEADER + "\n").encode()
        for i in range(n):
            yield f"2024-06-{1 + i % 28:02d},{i},SPOT,USDT,{i}.5,0.{i},USDT,{i}.25\n".encode()

    tracemalloc.start()
    try:
        count = sum(1 for _ in read_rebate_file(gen(60_000)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 60_000
    assert peak < 512 * 1024, peak


def test_line_without_end_is_refused():
    def endless_line():
        yield (HEADER + "\n").encode()
        while True:
            yield b"x" * 65536

    with pytest.raises(RebateFileError, match="longer than"):
        list(read_rebate_file(endless_line()))


def test_a_byte_that_is_not_utf8_is_reported_at_its_own_line_even_deep_in_a_block():
    import pytest as _pytest

    from kucoin.rebate_file import RebateFileError, read_rebate_file

    header = b"date,uid,tradeType,feeCurrency,volume,fee,rebateCurrency,rebateAmount\n"
    good = b"2024-06-10,100000001,SPOT,USDT,1,1,USDT,1\n"
    body = header + good * 500 + b"2024-06-10,1000000\xc3\x28,SPOT,USDT,1,1,USDT,1\n" + good
    with _pytest.raises(RebateFileError) as caught:
        list(read_rebate_file(iter([body[:7000], body[7000:]])))
    assert caught.value.line == 502
