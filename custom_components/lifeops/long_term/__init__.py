"""The long-term store feature: the TimescaleDB writer wired to a site, and its options step."""
