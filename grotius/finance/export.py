"""Alerts as STIX 2.1 objects and as FollowTheMoney entities (plain dicts).

STIX: each alert becomes an ``observed-data`` over the accounts involved (``user-account``
SCOs with ``account_type`` "bank-account", deterministic ids) and an ``x-grotius-alert``
(a new SDO of the Grotius node extension) that refers to it and carries the typology,
score, accounts, transactions and the full explanation. FollowTheMoney: ``BankAccount``
and ``Payment`` entities, the payments noting the alerts they belong to; followthemoney
itself is not needed to write them.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, Iterable

import rfc8785

from ..node import stix_now
from ..stix import extension, markings
from .alerts import Alert

ALERT_TYPE = "x-grotius-alert"
#: STIX 2.1 namespace for deterministic SCO ids
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
_OBS_NAMESPACE = uuid.UUID("0b6f1c55-3e1f-4d8e-a0a4-8a9b7a2d6c53")


def _stix_time(iso_seconds: str) -> str:
    return iso_seconds.replace("Z", ".000Z") if "." not in iso_seconds else iso_seconds


def account_sco(account: str) -> dict[str, Any]:
    contributing = {"account_type": "bank-account", "user_id": account}
    sid = uuid.uuid5(SCO_NAMESPACE, rfc8785.dumps(contributing).decode("utf-8"))
    return {"type": "user-account", "spec_version": "2.1", "id": f"user-account--{sid}", **contributing}


def _stix_explanation(expl: dict[str, Any]) -> dict[str, Any]:
    """The explanation with STIX-friendly key names (custom names need 3+ characters)."""
    out = dict(expl)
    ev = dict(out.get("evidence", {}))
    ev["transactions"] = [
        {("from_account" if k == "from" else "to_account" if k == "to" else "tx_id" if k == "id" else k): v
         for k, v in t.items()}
        for t in ev.get("transactions", [])
    ]
    out["evidence"] = ev
    return out


def alert_to_stix(
    alert: Alert, *, tlp: str = "amber", created_by_ref: str | None = None, created: str | None = None
) -> list[dict[str, Any]]:
    """STIX objects for one alert: account SCOs, one observed-data, one x-grotius-alert."""
    lvl = markings.level(tlp)
    marking = [markings.TLP2_IDS[lvl]]
    now = created or stix_now()
    scos = [account_sco(a) for a in alert.accounts]
    ev = alert.explanation.get("evidence", {})
    obs_id = f"observed-data--{uuid.uuid5(_OBS_NAMESPACE, alert.id)}"
    observed: dict[str, Any] = {
        "type": "observed-data",
        "spec_version": "2.1",
        "id": obs_id,
        "created": now,
        "modified": now,
        "first_observed": _stix_time(ev.get("first_time", now)),
        "last_observed": _stix_time(ev.get("last_time", now)),
        "number_observed": max(1, len(alert.transactions)),
        "object_refs": [s["id"] for s in scos],
        "object_marking_refs": marking,
    }
    feats = alert.explanation.get("features", {})
    obj: dict[str, Any] = {
        "type": ALERT_TYPE,
        "spec_version": "2.1",
        "id": alert.id,
        "created": now,
        "modified": now,
        "name": f"{alert.typology.replace('_', '-')} alert: {len(alert.accounts)} accounts, "
                f"{len(alert.transactions)} payments, {feats.get('total_amount', '')} {' '.join(feats.get('currencies', []))}".strip(),
        "typology": alert.typology,
        "score": alert.score,
        "accounts": alert.accounts,
        "transactions": alert.transactions,
        "explanation": _stix_explanation(alert.explanation),
        "object_refs": [obs_id],
        "object_marking_refs": marking,
        "extensions": extension.new_sdo_extension(),
    }
    if created_by_ref:
        observed["created_by_ref"] = created_by_ref
        obj["created_by_ref"] = created_by_ref
    return [*scos, observed, obj]


def alerts_to_stix(alerts: Iterable[Alert], **kwargs: Any) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for a in alerts:
        for o in alert_to_stix(a, **kwargs):
            if o["id"] not in seen:  # accounts shared between alerts appear once
                seen.add(o["id"])
                out.append(o)
    return out


def alerts_to_stix_bundle(alerts: Iterable[Alert], **kwargs: Any) -> dict[str, Any]:
    objs = alerts_to_stix(alerts, **kwargs)
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objs}


def _ftm_id(kind: str, value: str) -> str:
    return f"grotius-{kind}-" + hashlib.sha1(value.encode("utf-8")).hexdigest()


def alerts_to_ftm(alerts: Iterable[Alert]) -> list[dict[str, Any]]:
    """FollowTheMoney ``BankAccount`` and ``Payment`` entities for the alerts' evidence.

    Input that came as FtM keeps its entity ids, so a partner's graph merges with its own.
    """
    accounts: dict[str, dict[str, Any]] = {}
    payments: dict[str, dict[str, Any]] = {}
    for a in alerts:
        from_ftm = a.explanation.get("input_format") == "ftm"
        note = f"Grotius alert {a.id}: {a.typology}, score {a.score}"
        for t in a.explanation.get("evidence", {}).get("transactions", []):
            ids = {}
            for side, bank_key in (("from", "from_bank"), ("to", "to_bank")):
                acct = t[side]
                eid = acct if from_ftm else _ftm_id("account", acct)
                ids[side] = eid
                if eid not in accounts:
                    props: dict[str, list[str]] = {"accountNumber": [acct]}
                    if t.get(bank_key):
                        props["bankName"] = [str(t[bank_key])]
                    if t.get("currency"):
                        props["currency"] = [t["currency"]]
                    accounts[eid] = {"id": eid, "schema": "BankAccount", "properties": props}
            pid = t["id"] if from_ftm else _ftm_id("payment", t["id"])
            p = payments.get(pid)
            if p is None:
                props = {
                    "payerAccount": [ids["from"]],
                    "beneficiaryAccount": [ids["to"]],
                    "amount": [t["amount"]],
                    "date": [t["time"]],
                    "recordId": [t["id"]],
                    "notes": [],
                }
                if t.get("currency"):
                    props["currency"] = [t["currency"]]
                if t.get("payment_format"):
                    props["programme"] = [t["payment_format"]]
                p = payments[pid] = {"id": pid, "schema": "Payment", "properties": props}
            if note not in p["properties"]["notes"]:
                p["properties"]["notes"].append(note)
    return [*accounts.values(), *payments.values()]
