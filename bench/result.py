from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass
class Result:
    name: str
    value: float
    unit: str
    #: The value must stay below this (all targets so far are upper limits).
    target: float

    @property
    def met(self) -> bool:
        return self.value < self.target

    @property
    def target_text(self) -> str:
        return f"<{self.target:g}"

    def line(self) -> str:
        return f"BENCH {self.name} {self.value:.1f} {self.unit} target=<{self.target:g}"


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]
