"""Pure matching engine: conflicts of interest, expert–application fit, optimal panel assignment.

No Flask, no database, no I/O: dataclasses in, dataclasses out.
"""
