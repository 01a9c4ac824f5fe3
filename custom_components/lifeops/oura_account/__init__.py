"""An Oura account's Home Assistant layer: its coordinator, sensors, history, webhooks, actions.

The Oura API itself (HA-free) is the `oura` package beside this one.
"""
