"""The object page says who signed a version and whether the signature verifies."""

from __future__ import annotations

import copy

from fastapi.testclient import TestClient

from grotius.ingest import ingest
from grotius.web.app import create_app

from webdata import login, seed


def test_object_page_shows_signature_status(node):
    seed(node)
    own = {
        "type": "malware", "spec_version": "2.1", "id": "malware--7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        "created": "2026-02-01T10:00:00.000Z", "modified": "2026-02-01T10:00:00.000Z",
        "name": "TideLock", "is_family": True, "created_by_ref": node.identity_id,
    }
    ingest(node, [copy.deepcopy(own)])
    client = TestClient(create_app(node))
    login(client)
    page = client.get(f"/objects/{own['id']}").text
    assert "Provenance" in page and "signature verifies" in page
    assert f"/audit?object={own['id']}" in page
    sig = client.get(f"/api/objects/{own['id']}").json()["meta"]["signature"]
    assert sig["status"] == "valid" and sig["signer"] == node.identity_id
    # an object from someone else, unsigned
    other = dict(own, id="malware--8d2e3f4a-5b6c-4d7e-9f8a-0b1c2d3e4f5a", created_by_ref=None)
    other.pop("created_by_ref")
    ingest(node, [other])
    assert "Not signed by its originator" in client.get(f"/objects/{other['id']}").text
