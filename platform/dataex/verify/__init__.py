"""The offline verifier: a whole log, from a server's export or a file, with no database.

run.py drives it; lines.py reads the export; replay.py re-executes commands
through core/; signatures.py checks document signatures on every core;
trust.py holds the log and witness keys and checks checkpoint notes.
"""

from dataex.verify.run import Report, verify_stream
from dataex.verify.trust import TrustedKeys

__all__ = ["Report", "TrustedKeys", "verify_stream"]
