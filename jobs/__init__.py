"""RQ wiring and thin job functions. Imports `workflow`, never `web`.

The SLA timer jobs and the sweep land with the SLA work; services already return the
follow-ups (`workflow.followups`) these jobs will schedule after each commit.
"""
