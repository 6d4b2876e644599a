"""Shared helpers every stage may use: nothing here imports a stage.

- :mod:`audit.util.atomic` — transactional writes of an output set, the output lock.
- :mod:`audit.util.progress` — progress steps (rich on a terminal, silent elsewhere).
- :mod:`audit.util.resources` — where the bundled policies, templates and schemas live.
- :mod:`audit.util.display` — the one display form of text from the data.
"""
