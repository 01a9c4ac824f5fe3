"""LifeOps tests."""
