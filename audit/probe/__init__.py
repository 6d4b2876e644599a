"""``fairgate probe``: audit a model that can only be called, with paired counterfactual profiles.

``design`` builds the test set (variants of each profile differing only in the sensitive signal),
``adapters`` turn a profile into a request and a response into an answer (HTTP JSON, OpenAI-compatible
chat completions, a Python callable), ``cache`` keeps every request and response by content hash,
``client`` sends what the cache lacks (bounded concurrency, timeouts, retries, a request budget) and
``run`` feeds the collected outcomes to the same pipeline as ``fairgate run`` and adds the paired
statistics (``audit.measures.paired``) as the results' ``probe`` section.
"""
