"""Bills as documents (issue 17): PDF bills and receipts (content.py: what they say; render.py: the
pages, with fpdf2), bulk printing to one zip or one merged PDF streamed to disk (bulk.py, pdfjoin.py),
and sending a bill by email with its PDF attached (delivery.py; SMTP in services/integrations/email.py)."""
