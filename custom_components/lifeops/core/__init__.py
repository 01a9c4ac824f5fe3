"""LifeOps' domain logic.

Nothing in this package imports Home Assistant: it holds the rules, schedules and validation that
the Home Assistant layer wires to entities, services and events, and it is tested on its own.
"""
