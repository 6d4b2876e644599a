"""Representativeness: the audited sample's group shares against a declared reference population.

The statistics live in ``audit.measures.representativeness``; this module is the kind's explanation.
"""

KIND = "representativeness"
EXPLANATION = (
    "For one sensitive feature, each group's share of the audited rows is compared with its share of a "
    "declared reference population (a census, an applicant pool). The representation ratio is the observed "
    "share divided by the expected share; a group fails when the ratio is below the policy's minimum or "
    "its share differs from the expected by more than the allowed gap. The χ² goodness-of-fit test and the "
    "total variation distance describe the whole distribution."
)
