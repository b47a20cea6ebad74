"""The customer's choice after a delay: keep waiting, or cancel the backordered line and get a refund.

links.py signs the two links an email carries; services.py records a choice and refunds;
pages.py and blueprint.py show the confirm page (a GET never acts) and take the POST.
"""
