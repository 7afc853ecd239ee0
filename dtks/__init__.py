"""DTKS update-round pipeline: ingest, validate, merge and measure district submissions."""

__version__ = "0.1.0"
