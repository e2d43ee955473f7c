"""The list of admin feature modules; importing one registers its routes on the blueprint.

Kept separate so each feature's author adds one import line here and nothing else."""

from __future__ import annotations
