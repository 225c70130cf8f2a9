"""Plain-language labels for standardized effect sizes — with the caution they need.

* Cohen (1988): |d| < 0.2 "very small", [0.2, 0.5) "small", [0.5, 0.8) "medium",
  >= 0.8 "large" (as effectsize 0.8 ``interpret_cohens_d(rules = "cohen1988")``).
* Kraft (2020, *Educational Researcher* 49(4), 241-253) benchmarks for causal studies of
  education interventions on standardized achievement: < 0.05 "small", [0.05, 0.20)
  "medium", >= 0.20 "large". **UNVERIFIED**: these cut points were not read in the paper
  while this module was written (only secondary summaries agree on them); check them
  against Kraft (2020) before quoting them.

Neither set is universal: a benchmark depends on the outcome (researcher-made vs
standardized test), the population, the design, the cost and the scale of the
intervention (Kraft 2020; Hill, Bloom, Black & Lipsey 2008).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from plmresearch.effects._common import check_choice
from plmresearch.effects.wwc import improvement_index
from plmresearch.validation import array_1d, finite

RULES: dict[str, tuple[tuple[float, ...], tuple[str, ...]]] = {
    "cohen1988": ((0.2, 0.5, 0.8), ("very small", "small", "medium", "large")),
    "kraft2020": ((0.05, 0.20), ("small", "medium", "large")),
}

CAUTION = ("Benchmarks are not universal: compare with effects of similar interventions, outcomes "
           "(standardized vs researcher-made tests), grades, costs and scale. Kraft (2020) cut points "
           "are UNVERIFIED against the paper in this package.")


def label(g: float, rules: str = "cohen1988") -> str:
    """The label of |g| under ``rules`` ("cohen1988" or "kraft2020"); intervals are [lower, upper)."""
    check_choice(rules, "rules", tuple(RULES))
    cuts, labels = RULES[rules]
    return labels[int(np.searchsorted(cuts, abs(finite(g, "g")), side="right"))]


@dataclass(frozen=True)
class Interpretation:
    """Labels of one effect size; ``str()`` gives a sentence for a report."""

    effect_size: float
    cohen1988: str
    kraft2020: str
    improvement_index: float
    caution: str = CAUTION

    @property
    def direction(self) -> str:
        return "favours the intervention" if self.effect_size > 0 else (
            "favours the comparison" if self.effect_size < 0 else "shows no difference")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"effect_size": self.effect_size, "direction": self.direction,
                              "cohen1988": self.cohen1988, "kraft2020 (unverified)": self.kraft2020,
                              "improvement_index": self.improvement_index, "caution": self.caution}])

    def __str__(self) -> str:
        return (f"An effect size of {self.effect_size:.2f} {self.direction}: {self.cohen1988} by Cohen's (1988) "
                f"conventions, {self.kraft2020} by the Kraft (2020) education benchmarks (cut points unverified); "
                f"improvement index {self.improvement_index:+.0f} percentile points. {self.caution}")


def interpret(g: Any) -> Interpretation | pd.DataFrame:
    """Interpret a standardized effect size (Hedges' g, Cox index) with Cohen's and Kraft's labels.

    A number gives an :class:`Interpretation`; an array gives a DataFrame, one row each.
    """
    if np.ndim(g) == 0:
        x = finite(g, "g")
        return Interpretation(x, label(x, "cohen1988"), label(x, "kraft2020"), float(improvement_index(x)))
    a = array_1d(g, "g")
    return pd.concat([interpret(float(x)).to_frame() for x in a], ignore_index=True)
