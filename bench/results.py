"""The one shape every benchmark reports in, so that `python -m bench` can make one table of them."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass
class Result:
    benchmark: str
    figure: float
    unit: str
    reference: float | None = None
    reference_label: str = ""
    bound: str = ""
    met: bool | None = None
    detail: str = ""  # shown beside the figure: p95, query count, counts that explain it

    @property
    def ratio(self) -> float | None:
        if self.reference in (None, 0):
            return None
        return self.figure / self.reference


def add_json_out_argument(parser) -> None:
    parser.add_argument("--json-out", help="also write the results to this file, for `python -m bench`")


def write_results(path: str | None, results: list[Result]) -> None:
    if not path:
        return
    with open(path, "w") as handle:
        json.dump([{**asdict(r), "ratio": r.ratio} for r in results], handle)
