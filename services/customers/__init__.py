"""The customer self-service portal (issue 16): customer users linked to utility accounts, one-time
codes, the portal's reads (always through the customer's scope) and their explanations.
docs/customer-portal.md."""
