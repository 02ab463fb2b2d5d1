"""Read transaction data (AMLworld CSV, AMLSim folders, FollowTheMoney JSON lines).

Every reader turns its input into one canonical CSV (see ``CANONICAL_COLUMNS``) that both
engines load with the same explicit schema, so DuckDB and Spark see identical rows.
Amounts are kept as the decimal text of the input (never a float) and times as integer
seconds since the epoch. Malformed rows raise :class:`InvalidInput` naming the line; with
``skip_invalid`` they are left out and counted in the :class:`ImportReport` instead.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..exc import InvalidInput

FORMATS = ("amlworld", "amlsim", "ftm")

CANONICAL_COLUMNS = (
    "seq",  # position in the input, 1-based; breaks ties between equal timestamps
    "tx_id",
    "src",
    "dst",
    "src_bank",
    "dst_bank",
    "amount",  # amount paid, in `currency`
    "currency",
    "amount_received",
    "currency_received",
    "ts",  # seconds since 1970-01-01 UTC
    "payment_format",
    "label",  # 1 laundering, 0 not, empty unknown
)

#: seconds per AMLSim simulation step; AMLSim steps are days
AMLSIM_STEP_SECONDS = 86400

# 38 digits in total with 8 after the point: DECIMAL(38, 8) in both engines
_MAX_INTEGER_DIGITS = 30
_MAX_SCALE = 8
_MAX_REPORTED_ERRORS = 20


@dataclass
class ImportReport:
    """What an import read, kept and left out (nothing is dropped silently)."""

    format: str
    source: str
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)
    labelled: bool = False

    def reject(self, message: str, line: int, column: str | None = None) -> None:
        self.rows_rejected += 1
        if len(self.errors) < _MAX_REPORTED_ERRORS:
            self.errors.append({"line": line, "column": column, "message": message})

    def to_dict(self) -> dict[str, object]:
        return {
            "format": self.format,
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "labelled": self.labelled,
            "errors": self.errors,
        }


class _RowError(Exception):
    def __init__(self, message: str, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


def parse_amount(text: str, column: str) -> str:
    """Exact decimal text that fits DECIMAL(38, 8); rejects floats' exponents and NaN."""
    t = text.strip()
    try:
        d = Decimal(t)
    except InvalidOperation:
        raise _RowError(f"{column}: {text!r} is not a decimal number", column) from None
    if not d.is_finite():
        raise _RowError(f"{column}: {text!r} is not a finite number", column)
    if d < 0:
        raise _RowError(f"{column}: negative amount {text!r}", column)
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    if -exponent > _MAX_SCALE:
        q = d.quantize(Decimal(1).scaleb(-_MAX_SCALE))
        if q != d:
            raise _RowError(f"{column}: {text!r} has more than {_MAX_SCALE} decimal places", column)
        d = q
    if d.adjusted() >= _MAX_INTEGER_DIGITS:
        raise _RowError(f"{column}: {text!r} is too large for DECIMAL(38, 8)", column)
    return format(d, "f")


def format_amount(d: Decimal) -> str:
    """Canonical text of an amount: no exponent, no trailing zeros (identical per engine)."""
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s or "0"


def _parse_amlworld_time(text: str, column: str) -> int:
    t = text.strip()
    for fmt in ("%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return int(datetime.strptime(t, fmt).replace(tzinfo=timezone.utc).timestamp())
        except ValueError:
            continue
    raise _RowError(f"{column}: {text!r} is not a timestamp like 2022/09/01 00:20", column)


def _parse_iso_time(text: str, column: str) -> int:
    t = text.strip()
    try:
        if len(t) == 10:
            dt = datetime.strptime(t, "%Y-%m-%d")
        else:
            dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise _RowError(f"{column}: {text!r} is not an ISO 8601 date or time", column) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp())


def _need(value: str | None, column: str) -> str:
    if value is None or not value.strip():
        raise _RowError(f"{column}: missing value", column)
    return value.strip()


def _label(text: str | None, column: str) -> str:
    if text is None or text.strip() == "":
        return ""
    t = text.strip()
    if t in ("0", "1"):
        return t
    raise _RowError(f"{column}: {text!r} must be 0 or 1", column)


AMLWORLD_HEADER = [
    "Timestamp",
    "From Bank",
    "Account",
    "To Bank",
    "Account",
    "Amount Received",
    "Receiving Currency",
    "Amount Paid",
    "Payment Currency",
    "Payment Format",
]


def _read_amlworld(path: Path, report: ImportReport) -> Iterator[tuple[int, list[str] | _RowError]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise InvalidInput(f"{path}: empty file, expected an AMLworld header", line=1)
        header = [h.strip() for h in header]
        if header[:10] != AMLWORLD_HEADER:
            raise InvalidInput(
                f"{path}: header {header!r} is not the AMLworld layout ({', '.join(AMLWORLD_HEADER)}[, Is Laundering])",
                line=1,
            )
        labelled = len(header) > 10 and header[10] == "Is Laundering"
        report.labelled = labelled
        width = 11 if labelled else 10
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            report.rows_read += 1
            seq = report.rows_read
            try:
                if len(row) != width:
                    raise _RowError(f"expected {width} fields, found {len(row)}")
                ts = _parse_amlworld_time(row[0], "Timestamp")
                yield line, [
                    str(seq),
                    str(seq),
                    _need(row[2], "Account"),
                    _need(row[4], "Account.1"),
                    row[1].strip(),
                    row[3].strip(),
                    parse_amount(row[7], "Amount Paid"),
                    _need(row[8], "Payment Currency"),
                    parse_amount(row[5], "Amount Received"),
                    _need(row[6], "Receiving Currency"),
                    str(ts),
                    row[9].strip(),
                    _label(row[10], "Is Laundering") if labelled else "",
                ]
            except _RowError as e:
                yield line, e


def _read_amlsim(path: Path, report: ImportReport) -> Iterator[tuple[int, list[str] | _RowError]]:
    folder = path if path.is_dir() else path.parent
    tx_path = folder / "transactions.csv"
    if not tx_path.exists():
        raise InvalidInput(f"{folder}: no transactions.csv (AMLSim layout: transactions.csv and nodes.csv)")
    with tx_path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        need = {"sourceNodeId", "targetNodeId", "value", "time"}
        if reader.fieldnames is None or not need <= set(reader.fieldnames):
            raise InvalidInput(
                f"{tx_path}: header {reader.fieldnames!r} lacks {sorted(need - set(reader.fieldnames or []))}",
                line=1,
            )
        has_tx_label = "isFraud" in reader.fieldnames
        report.labelled = has_tx_label
        for row in reader:
            line = reader.line_num
            report.rows_read += 1
            seq = report.rows_read
            try:
                if None in row:
                    raise _RowError(f"expected {len(reader.fieldnames)} fields, found more")
                amount = parse_amount(_need(row["value"], "value"), "value")
                step_text = _need(row["time"], "time")
                try:
                    step = int(step_text)
                except ValueError:
                    raise _RowError(f"time: {step_text!r} is not an integer step", "time") from None
                yield line, [
                    str(seq),
                    str(seq),
                    _need(row["sourceNodeId"], "sourceNodeId"),
                    _need(row["targetNodeId"], "targetNodeId"),
                    "",
                    "",
                    amount,
                    "",
                    amount,
                    "",
                    str(step * AMLSIM_STEP_SECONDS),
                    "",
                    _label(row.get("isFraud"), "isFraud") if has_tx_label else "",
                ]
            except _RowError as e:
                yield line, e


def read_amlsim_accounts(path: Path) -> dict[str, int]:
    """Account labels from an AMLSim ``nodes.csv`` (nodeid -> isFraud)."""
    folder = path if path.is_dir() else path.parent
    nodes = folder / "nodes.csv"
    if not nodes.exists():
        raise InvalidInput(f"{folder}: no nodes.csv")
    out: dict[str, int] = {}
    with nodes.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or "nodeid" not in reader.fieldnames or "isFraud" not in reader.fieldnames:
            raise InvalidInput(f"{nodes}: header must have nodeid and isFraud", line=1)
        for row in reader:
            try:
                out[row["nodeid"].strip()] = int(row["isFraud"])
            except (ValueError, AttributeError):
                raise InvalidInput(f"{nodes}: isFraud {row.get('isFraud')!r} is not 0 or 1", line=reader.line_num) from None
    return out


def _first(props: dict[str, object], name: str) -> str | None:
    v = props.get(name)
    if isinstance(v, list):
        return str(v[0]) if v else None
    return str(v) if v is not None else None


def _read_ftm(path: Path, report: ImportReport) -> Iterator[tuple[int, list[str] | _RowError]]:
    """Payments from FollowTheMoney JSON lines; BankAccount entities are checked, not required."""
    accounts: set[str] = set()
    payments: list[tuple[int, dict[str, object]]] = []
    with path.open(encoding="utf-8") as f:
        for line_no, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                ent = json.loads(text)
            except json.JSONDecodeError as e:
                report.rows_read += 1
                payments.append((line_no, {"__error__": f"not JSON: {e.msg} at column {e.colno}"}))
                continue
            if not isinstance(ent, dict):
                report.rows_read += 1
                payments.append((line_no, {"__error__": "not a JSON object"}))
                continue
            schema = ent.get("schema")
            if schema == "BankAccount":
                if isinstance(ent.get("id"), str):
                    accounts.add(ent["id"])
                continue
            if schema != "Payment":
                continue  # other FtM entities (people, companies) are not transactions
            report.rows_read += 1
            payments.append((line_no, ent))
    seq = 0
    for line_no, ent in payments:
        seq += 1
        if "__error__" in ent:
            yield line_no, _RowError(str(ent["__error__"]))
            continue
        try:
            props = ent.get("properties") or {}
            if not isinstance(props, dict):
                raise _RowError("properties: not an object", "properties")
            tx_id = ent.get("id")
            if not isinstance(tx_id, str) or not tx_id:
                raise _RowError("id: missing", "id")
            src = _first(props, "payerAccount") or _first(props, "payer")
            dst = _first(props, "beneficiaryAccount") or _first(props, "beneficiary")
            src = _need(src, "payerAccount")
            dst = _need(dst, "beneficiaryAccount")
            amount = parse_amount(_need(_first(props, "amount"), "amount"), "amount")
            when = _first(props, "date") or _first(props, "startDate")
            ts = _parse_iso_time(_need(when, "date"), "date")
            currency = _first(props, "currency") or ""
            yield line_no, [
                str(seq), tx_id, src, dst, "", "", amount, currency, amount, currency, str(ts),
                _first(props, "programme") or "", "",
            ]
        except _RowError as e:
            yield line_no, e
    report.source += f" ({len(accounts)} BankAccount entities)"


_READERS: dict[str, Callable[[Path, ImportReport], Iterator[tuple[int, list[str] | _RowError]]]] = {
    "amlworld": _read_amlworld,
    "amlsim": _read_amlsim,
    "ftm": _read_ftm,
}


def to_canonical(
    path: Path,
    fmt: str,
    out_csv: Path,
    *,
    skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validate ``path`` and write the canonical CSV ``out_csv``; return what happened."""
    if fmt not in _READERS:
        raise InvalidInput(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", property="format")
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"{path}: no such file or folder")
    report = ImportReport(format=fmt, source=str(path))
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    seen_ids: dict[str, int] = {}
    with out_csv.open("w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)
        w.writerow(CANONICAL_COLUMNS)
        for n, (line, row) in enumerate(_READERS[fmt](path, report), 1):
            if progress is not None and n % 50000 == 0:
                progress(n)
            if isinstance(row, list) and row[1] in seen_ids:
                row = _RowError(f"id {row[1]!r} repeats line {seen_ids[row[1]]}", "id")
            if isinstance(row, _RowError):
                if not skip_invalid:
                    raise InvalidInput(f"{path}: line {line}: {row}", line=line, property=row.column)
                report.reject(str(row), line, row.column)
                continue
            seen_ids[row[1]] = line
            report.rows_accepted += 1
            w.writerow(row)
    if report.rows_accepted == 0:
        raise InvalidInput(f"{path}: no transactions found ({report.rows_rejected} rows rejected)", errors=report.errors)
    return report


def read_canonical(path: Path) -> Iterable[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)
