"""Effect sizes, WWC procedures, power/MDES and meta-analysis."""

from plmresearch.effects._common import EffectSize
from plmresearch.effects.smd import (
    cohens_d,
    cohens_d_from_data,
    d_from_t,
    g_from_adjusted_difference,
    g_from_regression,
    glass_delta,
    glass_delta_from_data,
    hedges_correction,
    hedges_g,
    hedges_g_from_data,
    paired_d,
    pooled_sd,
    prepost_smcc,
    prepost_smcr,
)

__all__ = [
    "EffectSize",
    "cohens_d",
    "cohens_d_from_data",
    "d_from_t",
    "g_from_adjusted_difference",
    "g_from_regression",
    "glass_delta",
    "glass_delta_from_data",
    "hedges_correction",
    "hedges_g",
    "hedges_g_from_data",
    "paired_d",
    "pooled_sd",
    "prepost_smcc",
    "prepost_smcr",
]
