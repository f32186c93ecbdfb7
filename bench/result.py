from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass
class Result:
    name: str
    value: float
    unit: str
    #: The limit the value must stay below (or above, when higher is better; 0: reported only).
    target: float
    higher_is_better: bool = False
    #: What the figure ran on (e.g. "50000 lines", "1000000 rows", "25 users"): every row says it.
    scale: str = ""

    @property
    def met(self) -> bool:
        if not self.target:
            return True
        if self.higher_is_better:
            return self.value >= self.target
        return self.value < self.target

    @property
    def target_text(self) -> str:
        if not self.target:
            return "report"
        return f"{'>=' if self.higher_is_better else '<'}{self.target:g}"

    def line(self) -> str:
        line = f"BENCH {self.name} {self.value:.1f} {self.unit} target={self.target_text}"
        return f"{line} scale={self.scale.replace(' ', '_')}" if self.scale else line


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]
