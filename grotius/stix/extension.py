"""The Grotius node extension: one STIX extension-definition that every node-made object
(leads, hit/no-hit runs, requests, entities, alerts) and the property extension (Admiralty
grade, signature, redaction notice) point to. Its normative definition is docs/extension.md."""

from __future__ import annotations

from typing import Any

from .grading import GROTIUS_EXTENSION_ID

GROTIUS_IDENTITY = "identity--8d5f9a43-2a4f-4f50-9d2e-6f0a1c6b9e10"


def project_identity() -> dict[str, Any]:
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": GROTIUS_IDENTITY,
        "created": "2026-11-01T00:00:00.000Z",
        "modified": "2026-11-01T00:00:00.000Z",
        "name": "Grotius project",
        "identity_class": "organization",
    }


#: the definition's version history: (version, modified); the last is current, and
#: ``created`` never changes (docs/extension.md, "Versions")
VERSIONS = (("1.0.0", "2026-11-01T00:00:00.000Z"), ("1.1.0", "2026-11-30T00:00:00.000Z"))

# The normative definition in plain text (STIX 2.1 section 7.3 allows plain text for
# `schema`; there is no host to publish a URL on). docs/extension.md is the full text;
# tests/test_stix_extension.py checks both against the code that makes the objects.
SCHEMA = "\n".join((
    f"Grotius node extension {VERSIONS[-1][0]}: normative definition, summarised. Full text: "
    "docs/extension.md in the Grotius source.",
    "new-sdo types. Common properties: spec_version 2.1; id <type>--<UUID>; created, modified "
    "(millisecond timestamps); created_by_ref (the making node's identity; x-grotius-alert only when "
    "stored by a node); object_marking_refs (one TLP 2.0 marking); extensions {<this id>: "
    "{extension_type: new-sdo}}. Only the maker versions an object. '?' marks an optional property.",
    "- x-grotius-lead (information from one source matches holdings of another): name; status "
    "new|accepted|dismissed|suppressed; status_reason?; status_by?; matches [{kind, value, held_kind, "
    "held_value, relation exact|in-range|contains|overlaps|subdomain|parent-domain|url-host|host-of-url, "
    "flags?}]; incoming, held {object_ref, object_type, object_version, source, tlp, date_added, "
    "originator_ref?, admiralty?, name?}; object_refs [incoming, held]; score 0..1; score_components "
    "{grade, recency, agreement, strength, sources}.",
    "- x-grotius-match (one hit/no-hit run with a partner, TLP:RED): name; method "
    "ecdh-psi-x25519|pprl-clk-dice; mode? fuzzy; role requester|holder; partner; session; size; "
    "partner_size? (exact runs); threshold? (fuzzy runs); hit_count; hits [{type, value}] (fuzzy "
    "requester adds score, entry, date_of_birth?; fuzzy holder adds name, score, entries).",
    "- x-grotius-request (request for information on hits, by the requester, never TLP:RED): name; "
    "asked; legal_basis mla|police-cooperation|europol|fiu|other; legal_basis_text; urgency "
    "routine|urgent|immediate; deadline (timestamp); requester; requester_ref; holder; holder_ref?; "
    "match_ref; session; hits [{type, value}] (match_ref, session, hits never change); status "
    "open|approved|partially-approved|declined|withdrawn; decision_ref?; requested_by?; status_reason?; "
    "status_by?.",
    "- x-grotius-request-decision (the holder's answer): name; request_ref; outcome "
    "approved|partially-approved|declined; holder; requester; disclosed [{object_ref, version, "
    "object_type, derived_from?, derived_from_version?, dropped?}]; reason? (required to decline); "
    "decided_by?.",
    "- x-grotius-entity (records of one real-world entity): name; entity_class "
    "person|organization|threat-actor|intrusion-set; names; object_refs (2 or more); members "
    "[{object_ref, object_type, name, source, tlp, aliases?, date_of_birth?, nationality?, "
    "identifiers?}]; links [{source_ref, target_ref, probability, features}]; method fellegi-sunter; "
    "weights learned|default; threshold; revoked?.",
    "- x-grotius-alert (money-laundering typology alert): name; typology fan_in|fan_out|gather_scatter|"
    "scatter_gather|cycle|bipartite|stack|pass_through|structuring|associates; score 0..1; accounts; "
    "transactions; explanation {pattern, evidence, features, score, parameters, input_format, engine, "
    "engine_version, grotius_version}; object_refs [the observed-data over the accounts].",
    "property-extension members, on any object, each optional:",
    "- admiralty: \"<A-F><1-6>\", source reliability then information credibility (NATO AJP-2.1); "
    "credibility sets confidence 1=90, 2=70, 3=50, 4=30, 5=10, 6=none (STIX 2.1 Admiralty Credibility "
    "scale); reliability travels only here.",
    "- signature: {alg Ed25519, key_id (hex SHA-256 of the raw public key), signer (identity; "
    "= created_by_ref), value (base64)}, over the RFC 8785 canonical JSON of the whole object "
    "without this member; made by the originating node, verified against the signer's pinned key.",
    "- redacted: {selectors, by, reason, derived_from?, derived_from_version?, signature_removed? "
    "{signer, key_id}}: properties removed from this copy, by whom and why.",
))


def definition() -> dict[str, Any]:
    """The current version of the definition (earlier ones stay in the stores that hold them)."""
    version, modified = VERSIONS[-1]
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": GROTIUS_EXTENSION_ID,
        "created_by_ref": GROTIUS_IDENTITY,
        "created": VERSIONS[0][1],
        "modified": modified,
        "name": "Grotius node extension",
        "description": "Objects made by Grotius nodes (leads, hit/no-hit runs, requests for information "
        "and decisions, resolved entities, alerts) and the Admiralty grade, signature and redaction "
        "notice of any object.",
        "schema": SCHEMA,
        "version": version,
        "extension_types": ["new-sdo", "property-extension"],
    }


def new_sdo_extension() -> dict[str, Any]:
    return {GROTIUS_EXTENSION_ID: {"extension_type": "new-sdo"}}
