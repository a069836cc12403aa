"""Key files on disk: PKCS#8 PEM load and save (files.py), where a data
directory keeps the operator and log keys (locations.py), and the log key's
rotation (log_keys.py).
"""
