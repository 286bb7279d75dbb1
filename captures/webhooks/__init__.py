"""Signed webhooks (SPEC section 13): endpoints per workspace, events, at-least-once delivery.

:mod:`.endpoints` keeps the endpoints and their secrets, :mod:`.schedule` the deliveries
and their Redis schedule, :mod:`.events` turns capture and session endings into deliveries,
:mod:`.sender` signs and posts one attempt through the egress guard, and
:mod:`.deliverer` is the loop that claims due deliveries and runs them.
"""
