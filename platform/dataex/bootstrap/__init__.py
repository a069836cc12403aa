"""Starting a platform: the first start (genesis.py: keys, the operator's
self-admission) and the demo data of `dataex serve --demo` (demo.py).
"""
