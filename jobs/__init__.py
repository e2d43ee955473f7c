"""RQ wiring and thin job functions. Imports `workflow`, never `web`.

`queues` turns timer and notification follow-ups into RQ jobs after a commit, `sla` holds
the timer jobs, `sweep` the periodic safety net, `mail` the mail job, and `worker` the
`ticketflow worker` command; docs/timers.md explains how they fit.
"""
