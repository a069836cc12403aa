"""A regulator's witness of the log: follow a log and cosign each consistent
checkpoint (follow.py), serve the C2SP tlog-witness endpoint (serve.py), and
the state both keep on disk (state.py).
"""
