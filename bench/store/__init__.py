"""Storage: records, side files, locks and atomic writes of a suite folder."""
