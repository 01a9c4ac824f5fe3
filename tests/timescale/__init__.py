"""Tests of the long-term store against a real TimescaleDB / PostgreSQL (scripts/timescaledb.py)."""
