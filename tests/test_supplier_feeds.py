"""Reading supplier feeds and validating their rows (no database, no network)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from plugin.suppliers.feeds import (
    FeedError,
    parse_csv,
    parse_date,
    parse_feed,
    parse_json,
    records_feed,
    sniff_delimiter,
    validate_rows,
)

FEEDS = Path(__file__).parent / "data" / "feeds"
TODAY = date(2026, 6, 1)
KNOWN = {"LAMP-S", "LAMP-L", "RUG-01", "VASE-9", "CHAIR-2"}


def known(sku: str) -> str | None:
    return sku if sku in KNOWN else None


def read(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def test_a_good_csv_reads_every_row_with_iso_and_day_first_dates():
    feed = parse_csv(read("good.csv"))
    good, bad = validate_rows(feed, today=TODAY, resolve_sku=known)
    assert bad == []
    assert [(r.line, r.sku, r.quantity, r.expected_date, r.po_reference, r.status) for r in good] == [
        (2, "LAMP-S", 10, date(2026, 7, 1), "PO-100", "ordered"),
        (3, "LAMP-L", 5, date(2026, 7, 15), "PO-100", "shipped"),
        (4, "RUG-01", 3, date(2026, 6, 20), "PO-101", "received"),
        (5, "CHAIR-2", 2, date(2026, 8, 1), "PO-102", "ordered"),  # blank status = ordered
    ]
    assert good[1].tracking == "1Z999AA10123456784" and good[0].tracking is None


def test_an_excel_export_with_bom_crlf_semicolons_and_other_header_words():
    data = read("excel_semicolon_bom_crlf.csv")
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data  # the fixture is what Excel writes
    feed = parse_csv(data)
    assert feed.delimiter == ";"
    assert feed.ignored_columns == ("Comment",)
    good, bad = validate_rows(feed, today=TODAY, resolve_sku=known)
    assert bad == []
    # Slashed dates are day-first: 03/04/2027 is the 3rd of April, never March the 4th.
    assert [(r.sku, r.expected_date, r.status) for r in good] == [
        ("LAMP-S", date(2027, 4, 3), "ordered"),
        ("LAMP-L", date(2027, 4, 5), "shipped"),
        ("VASE-9", date(2026, 12, 31), "ordered"),
    ]


def test_tab_separated_and_windows_1252_files_are_read():
    data = "Item\tQty\tDue date\tPO\n\tCAFÉ-1\t2\t2026-07-01\tPO-1\n".replace("\n\t", "\n").encode("cp1252")
    good, bad = validate_rows(parse_csv(data), today=TODAY)
    assert bad == [] and good[0].sku == "CAFÉ-1" and good[0].expected_date == date(2026, 7, 1)


def test_every_bad_row_is_reported_with_its_line_and_reason():
    good, bad = validate_rows(parse_csv(read("bad_rows.csv")), today=TODAY, resolve_sku=known)
    assert [(r.line, r.sku) for r in good] == [(2, "LAMP-S"), (9, "VASE-9")]
    reasons = {e.line: e.reason for e in bad}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8]
    assert reasons[3] == "quantity -2 is negative"
    assert reasons[4].startswith("unknown SKU 'NOPE-1'")
    assert reasons[5] == "expected_date '2026-02-30' is not a real date"
    assert "duplicate PO line" in reasons[6] and "line 2" in reasons[6] and "line 6" in reasons[6]
    assert reasons[7] == "missing columns 'expected_date', 'po_reference'"
    assert reasons[8] == "expected_date 1999-12-31 is before 2000"


@pytest.mark.parametrize("name, missing", [
    ("wrong_header.csv", "sku, quantity, po_reference, expected_date (or lead_days)"),
    ("no_po_column.csv", "po_reference"),
])
def test_a_header_without_a_required_column_fails_the_whole_feed_naming_it(name, missing):
    with pytest.raises(FeedError) as info:
        parse_csv(read(name))
    assert "missing required column" in str(info.value) and missing in str(info.value)


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"\x00\x01\x02binary", "binary"),
    (b"sku,SKU,qty,eta,po\n", "both mean 'sku'"),
])
def test_unreadable_files_fail_with_a_clear_message(data, message):
    with pytest.raises(FeedError, match=message):
        parse_csv(data)


@pytest.mark.parametrize("text, expected", [
    ("2026-12-01", date(2026, 12, 1)),
    ("2026-12-01T09:30:00Z", date(2026, 12, 1)),
    ("2026/12/01", date(2026, 12, 1)),
    ("01/12/2026", date(2026, 12, 1)),
    ("1.12.2026", date(2026, 12, 1)),
    ("01-12-2026", date(2026, 12, 1)),
    ("03/04/2027", date(2027, 4, 3)),
])
def test_dates_in_iso_and_day_first_forms(text, expected):
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize("text, message", [
    ("12/31/2026", "day-first"),          # month-first is refused, not guessed
    ("1/12/26", "not a date"),            # two-digit years are ambiguous too
    ("next week", "not a date"),
    ("1999-12-31", "before 2000"),
    ("2030-01-01", "days ahead"),
])
def test_bad_dates_are_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_date(text, TODAY)


@pytest.mark.parametrize("qty, reason", [
    ("-1", "quantity -1 is negative"),
    ("2.5", "quantity '2.5' is not a whole number"),
    ("1,000", "quantity '1,000' is not a whole number"),
    ("lots", "quantity 'lots' is not a number"),
    ("", "quantity is empty"),
    ("99999999999", "is more than"),
])
def test_quantities_must_be_whole_and_not_negative(qty, reason):
    feed = parse_csv(f'sku,qty,eta,po\nA,"{qty}",2026-07-01,P\n'.encode())
    _, bad = validate_rows(feed, today=TODAY)
    assert len(bad) == 1 and reason in bad[0].reason


def test_status_synonyms_and_date_requirements():
    data = (b"sku,qty,eta,lead_days,po,status\n"
            b"A,1,,10,P,dispatched\n"      # lead days stand in for the date
            b"B,1,,,P,Delivered\n"         # a received line needs no date
            b"C,1,,,P,ordered\n"           # an open line does
            b"D,1,2026-07-01,,P,lost\n")
    good, bad = validate_rows(parse_csv(data), today=TODAY)
    assert [(r.sku, r.status, r.lead_days) for r in good] == [("A", "shipped", 10), ("B", "received", None)]
    assert [(e.line, e.reason) for e in bad] == [
        (4, "expected_date (or lead_days) is required for an ordered or shipped line"),
        (5, "status 'lost' is not one of ordered, shipped, received, cancelled"),
    ]


def test_a_row_with_more_fields_than_the_header_is_rejected_not_shifted():
    good, bad = validate_rows(parse_csv(b"sku,qty,eta,po\nA,1,2026-07-01,P,oops\nB,1,2026-07-01,P,\n"), today=TODAY)
    assert [r.sku for r in good] == ["B"]  # a trailing empty field is harmless
    assert bad[0].line == 2 and "5 fields but the header has 4" in bad[0].reason


def test_quoted_values_may_hold_delimiters_and_newlines_and_lines_stay_true():
    data = b'sku,qty,eta,po,tracking\n"A",1,2026-07-01,P,"line one\nline two"\n\nB,-1,2026-07-01,P,\n'
    good, bad = validate_rows(parse_csv(data), today=TODAY)
    assert good[0].tracking == "line one\nline two"
    assert bad[0].line == 5  # header 1, record 2-3, blank 4


def test_sku_case_is_resolved_to_the_shops_spelling():
    good, bad = validate_rows(parse_csv(b"sku,qty,eta,po\nlamp-s,1,2026-07-01,P\n"), today=TODAY,
                              resolve_sku=lambda s: "LAMP-S" if s.lower() == "lamp-s" else None)
    assert bad == [] and good[0].sku == "LAMP-S"


def test_json_feeds_list_or_lines_object():
    good, bad = validate_rows(parse_json(read("feed.json")), today=TODAY, resolve_sku=known)
    assert [(r.line, r.sku, r.quantity, r.expected_date, r.lead_days, r.po_reference) for r in good] == [
        (1, "LAMP-S", 7, date(2026, 8, 1), None, "PO-400"),
        (2, "RUG-01", 2, None, 21, "PO-400"),
    ]
    assert [(e.line, e.reason) for e in bad] == [(3, "quantity 'three' is not a number")]
    good, bad = validate_rows(parse_json(b'[{"sku": "A", "qty": 1, "eta": "2026-07-01", "po": 17}, 5, {"sku": "B"}]'),
                              today=TODAY)
    assert good[0].po_reference == "17"
    assert bad[0].line == 2 and "expected an object" in bad[0].reason
    assert bad[1].line == 3 and bad[1].reason == "missing columns 'quantity', 'po_reference'"


@pytest.mark.parametrize("data", [b"{not json", b'{"rows": []}', b'"text"'])
def test_malformed_json_fails_the_feed(data):
    with pytest.raises(FeedError):
        parse_json(data)


def test_parse_feed_tells_json_from_csv():
    assert parse_feed(b'\xef\xbb\xbf [{"sku": "A"}]').format == "json"
    assert parse_feed(b"sku,qty,eta,po\n").format == "csv"
    assert records_feed([{"sku": "A", "qty": 1, "eta": "2026-07-01", "po": "P"}]).format == "manual"


def test_overlong_text_is_rejected_before_it_reaches_the_database():
    long = "X" * 256
    _, bad = validate_rows(parse_csv(f"sku,qty,eta,po\n{long},1,2026-07-01,P\n".encode()), today=TODAY)
    assert bad[0].reason == "sku is longer than 255 characters"


def test_sniffing_ignores_delimiters_inside_quotes():
    assert sniff_delimiter('"a;b;c",x,y') == ","
    assert sniff_delimiter("a;b;c") == ";"
    assert sniff_delimiter("a\tb\tc") == "\t"
    assert sniff_delimiter("single") == ","
