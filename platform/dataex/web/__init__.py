"""Pages for people, served by `dataex serve` itself: no build step, no CDN.

pages.py renders the public pages from the same committed tables the API reads
(templates/); what needs the user's key (their account, orders, decisions) is
done by the page's own JavaScript (static/js/), which signs in the browser with
a WebCrypto key that never leaves it and calls the JSON API. assets.py serves
static/ and the vendored third-party files listed in vendor.json.
"""
