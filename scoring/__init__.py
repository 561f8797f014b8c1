"""Pure scoring engine: score templates, sheet validation, outlier flags, calibration, ranking.

No Flask, no database, no I/O: dataclasses in, dataclasses out.

>>> import scoring
>>> result = scoring.rank(scoring.parse_problem(data))        # doctest: +SKIP
>>> result.ranking[0].application, result.to_dict()            # doctest: +SKIP
"""

from .pipeline import rank
from .problem import ProblemError, parse_problem

__all__ = ["ProblemError", "parse_problem", "rank"]
