"""The market: products and their listing (products.py, listings.py), one
price-time book each (book.py, matching.py), orders (orders.py), the
double-entry ledger and fees, licences and their templates, the records the
store keeps, contracts and errors. state.py holds the market; commands.py is
the one entry point for every market contract. Above the registry (data
licences need certificates), never imported by it.
"""
