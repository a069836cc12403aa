"""The market's tables: projection of orders, trades, products and licences;
ledger postings and balances (ledger.py) and their check; the market data
feed; market reads.
"""
