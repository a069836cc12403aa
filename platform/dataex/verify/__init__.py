"""Offline checks a regulator or member runs with no server and no trust in one.

run.py verifies a whole log export (lines.py reads it, replay.py re-executes
its commands through core/, signatures.py checks document signatures on every
core, trust.py holds the log and witness keys and checks checkpoint notes);
own_entries.py checks a participant's own entries against a public checkpoint;
certificates.py and licences.py check one certificate or licence document and
its inclusion proof; report.py is the report they share.
"""

from dataex.verify.run import Report, verify_export, verify_stream
from dataex.verify.trust import TrustedKeys

__all__ = ["Report", "TrustedKeys", "verify_export", "verify_stream"]
