"""Reports: analysis of records into leaderboards, tables, figures and pages."""
