"""Ticketflow's domain: lifecycles as data, tickets, guards and the services that move them.

Nothing in this package imports Flask, RQ or Redis (an import-linter contract checks it),
so the web app, the jobs and the CLI share one set of rules.
"""
