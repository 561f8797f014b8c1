"""Pure scoring engine: score templates, sheet validation, outlier flags, calibration, ranking.

No Flask, no database, no I/O: dataclasses in, dataclasses out.
"""
