"""Signing and verifying Fairgate's PDF reports (PAdES, with pyHanko).

A fairness report is evidence: a reader must be able to tell whether anything in it changed after
it was signed. The modules here are imported on demand (pyHanko takes ~0.4 s to import, so it stays
out of the CLI's start-up path):

- ``audit.signing.keys``: load a PKCS#12 or PEM signing key (refusing a CA-issued certificate
  without non-repudiation), make a self-signed *development* key, describe a signer for the
  report's sign-off block.
- ``audit.signing.sign``: add a PAdES signature as an incremental update, with an RFC 3161
  timestamp when a timestamp authority is given: invisible for the author; a countersignature fills
  its role's reserved sign-off field with a stamp and records its decision in the signed reason.
- ``audit.signing.stamp``: draw that stamp (name, role, decision, date) with WeasyPrint, fonts embedded.
- ``audit.signing.verify``: check every signature strictly (nothing but further signatures may
  follow a signature; key usage; timestamp tokens and their authorities), name what an unsigned
  update changed, and read the attached evidence files back out.
- ``audit.signing.summary``: what ``fairgate verify`` prints (human summary or JSON).
"""
