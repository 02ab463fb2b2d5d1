"""Grotius: trusted cross-border security cooperation on STIX 2.1 and TAXII 2.1."""

__version__ = "0.1.0"
