"""The Home Assistant side of each agent.

Each controller feeds the domain logic in `core` from entities and the clock, acts through Home
Assistant actions and events, and tells entities when to update.
"""
