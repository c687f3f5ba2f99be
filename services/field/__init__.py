"""Field operations (issue 15): compliance visits and complaint tickets. See docs/field-work.md."""
