"""The pipeline's own steps, between the stages: the typed request (``AuditRequest``, built by the CLI or
the Python API, recorded in results.json, replayed by ``verify --recompute``), resolving column roles
against the policy, reading the frame through an engine, and splitting it into time windows. These
connect stages (policy, tables, judge), so they sit with the pipeline, above every stage."""
