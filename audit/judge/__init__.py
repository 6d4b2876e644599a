"""The judge: the only stage that decides statuses (PASS, WARN, FAIL, INSUFFICIENT_DATA, WAIVED, INFO).

measures/ hands it numbers; policy/ hands it the rules as data. It returns the findings and one
list of judged items (``core.JudgedItem``) that every printer walks, and ``status.gate`` turns that
list into the exit code. See ``status`` for the statuses and the gate, ``rules`` for group-metric
rules, ``waivers`` for approved exceptions, ``windows``/``drift`` for monitoring.
"""
