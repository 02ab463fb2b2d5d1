"""The Grotius node extension: one STIX extension-definition that every node-made object
(leads, hits, alerts, assessments, ...) and the Admiralty property extension point to."""

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


def definition() -> dict[str, Any]:
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": GROTIUS_EXTENSION_ID,
        "created_by_ref": GROTIUS_IDENTITY,
        "created": "2026-11-01T00:00:00.000Z",
        "modified": "2026-11-01T00:00:00.000Z",
        "name": "Grotius node extension",
        "description": "Objects made by Grotius nodes (leads, hits, requests, alerts, "
        "assessments) and the Admiralty grade of any object.",
        "schema": "https://grotius.example/schemas/node-extension",
        "version": "1.0.0",
        "extension_types": ["new-sdo", "property-extension"],
    }


def new_sdo_extension() -> dict[str, Any]:
    return {GROTIUS_EXTENSION_ID: {"extension_type": "new-sdo"}}
