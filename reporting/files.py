"""The files sent to the credit bureau: one CSV and one JSON file with the same records.

Both are UTF-8 and start with a header: format, institution code, month, record count and the
SHA-256 checksum of the rest of the file (CSV: every byte after the header line; JSON: the
`records` array in its canonical form). docs/credit-reporting.md describes every field.
Records are written as they are read from the database (a million records never sit in memory).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import Storage

FORMAT = "portal-credit-report/1"
CSV_COLUMNS = [
    "record_type",          # D: the month's record; C: a correction of a record sent before
    "record_id",
    "correction_id",
    "account_number",       # the loan's reference
    "borrower_name",
    "id_type",              # 10: resident identity card
    "id_number",
    "product_code",
    "credit_amount",
    "opened_on",
    "term_months",
    "month",                # YYYY-MM: the month the status describes
    "status",               # N, 1–7, C, G, B
    "days_past_due",
    "worst_days_past_due",
    "overdue_installments",
    "balance",
    "principal_balance",
    "overdue_amount",
    "overdue_principal",
    "scheduled_amount",
    "paid_amount",
    "written_off_amount",
    "corrected_at",
]
CHUNK = 1024 * 1024


def canonical_json(value: Any) -> str:
    """The one serialisation the JSON checksum is computed over."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class WrittenFiles:
    csv_name: str
    json_name: str
    record_count: int
    csv_body_sha256: str
    json_records_sha256: str
    csv_sha256: str
    json_sha256: str


def _copy(source: IO[bytes], target: IO[bytes], digest: Any) -> None:
    source.seek(0)
    while chunk := source.read(CHUNK):
        target.write(chunk)
        digest.update(chunk)


def _save(storage: Storage, name: str, content: IO[bytes]) -> str:
    if storage.exists(name):  # left by an attempt that crashed before its transaction committed
        storage.delete(name)
    content.seek(0)
    return storage.save(name, File(content, name=name))


def write_report_files(
    *, storage: Storage, base_name: str, institution_code: str, month: str, rows: Iterable[dict[str, Any]]
) -> WrittenFiles:
    """Write `rows` (dicts keyed by CSV_COLUMNS, values str/int/None) as `base_name`.csv/.json."""
    csv_body_digest, json_digest = hashlib.sha256(), hashlib.sha256()
    count = 0
    with tempfile.TemporaryFile() as csv_body, tempfile.TemporaryFile() as json_records:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")

        def flush() -> None:
            data = text.getvalue().encode("utf-8")
            csv_body.write(data)
            csv_body_digest.update(data)
            text.seek(0)
            text.truncate()

        writer.writerow(CSV_COLUMNS)
        json_records.write(b"[")
        json_digest.update(b"[")
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row[c] for c in CSV_COLUMNS])
            item = (b"," if count else b"") + canonical_json({c: row.get(c) for c in CSV_COLUMNS}).encode("utf-8")
            json_records.write(item)
            json_digest.update(item)
            count += 1
            if count % 1000 == 0:
                flush()
        flush()
        json_records.write(b"]")
        json_digest.update(b"]")

        header = {
            "format": FORMAT, "institution_code": institution_code, "month": month,
            "record_count": count,
        }
        csv_header = io.StringIO()
        csv.writer(csv_header, lineterminator="\r\n").writerow(
            ["H", FORMAT, institution_code, month, count, csv_body_digest.hexdigest()]
        )
        with tempfile.TemporaryFile() as csv_file, tempfile.TemporaryFile() as json_file:
            csv_whole = hashlib.sha256()
            first = csv_header.getvalue().encode("utf-8")
            csv_file.write(first)
            csv_whole.update(first)
            _copy(csv_body, csv_file, csv_whole)

            json_whole = hashlib.sha256()
            opening = (
                '{"header":' + canonical_json({**header, "sha256": json_digest.hexdigest()}) + ',"records":'
            ).encode("utf-8")
            json_file.write(opening)
            json_whole.update(opening)
            _copy(json_records, json_file, json_whole)
            json_file.write(b"}\n")
            json_whole.update(b"}\n")

            csv_name = _save(storage, f"{base_name}.csv", csv_file)
            json_name = _save(storage, f"{base_name}.json", json_file)
    return WrittenFiles(
        csv_name=csv_name, json_name=json_name, record_count=count,
        csv_body_sha256=csv_body_digest.hexdigest(), json_records_sha256=json_digest.hexdigest(),
        csv_sha256=csv_whole.hexdigest(), json_sha256=json_whole.hexdigest(),
    )


@dataclass(frozen=True)
class ReadFile:
    header: dict[str, Any]
    records: list[dict[str, Any]]
    checksum_ok: bool


def read_csv(content: bytes) -> ReadFile:
    """Parse a CSV report file and verify its header's checksum (for tests and for checking a file)."""
    first, _, body = content.partition(b"\r\n")
    kind, fmt, institution, month, count, checksum = next(csv.reader([first.decode("utf-8")]))
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))
    header = {"record_type": kind, "format": fmt, "institution_code": institution, "month": month,
              "record_count": int(count), "sha256": checksum}
    return ReadFile(header, rows, hashlib.sha256(body).hexdigest() == checksum and len(rows) == int(count))


def read_json(content: bytes) -> ReadFile:
    data = json.loads(content.decode("utf-8"))
    records = data["records"]
    digest = hashlib.sha256(canonical_json(records).encode("utf-8")).hexdigest()
    header = data["header"]
    return ReadFile(header, records, digest == header["sha256"] and len(records) == header["record_count"])
