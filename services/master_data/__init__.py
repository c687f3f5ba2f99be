"""Master data: the society's spreadsheet and its import."""
