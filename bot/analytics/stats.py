"""Confidence intervals for campaign results (pure).

- A share (conversion): Wilson's score interval, which stays inside 0–1 and behaves
  with few members or no purchasers at all.
- A difference of two shares (uplift): Newcombe's hybrid score interval (his method
  10), built from the two Wilson intervals.
- A difference of two means (revenue per member): Welch's t interval, which does not
  assume equal variances; degrees of freedom by Welch–Satterthwaite.

Sums are kept as exact integers (satang) so the variance has no rounding trouble.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    @property
    def contains_zero(self) -> bool:
        return self.low <= 0 <= self.high

    def scaled(self, factor: float) -> Interval:
        low, high = self.low * factor, self.high * factor
        return Interval(min(low, high), max(low, high))


@dataclass(frozen=True)
class Sample:
    """A group's values summarised: count, sum and sum of squares (exact integers)."""

    n: int = 0
    total: int = 0
    total_sq: int = 0

    def add(self, value: int) -> Sample:
        return Sample(self.n + 1, self.total + value, self.total_sq + value * value)

    def __add__(self, other: Sample) -> Sample:
        return Sample(self.n + other.n, self.total + other.total, self.total_sq + other.total_sq)

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        """Sample variance (n − 1 in the denominator)."""
        if self.n < 2:
            return None
        return (self.n * self.total_sq - self.total * self.total) / (self.n * (self.n - 1))


def _t(confidence: float, df: float) -> float:
    """Student's t quantile; SciPy is imported on first use (it takes a second to load)."""
    from scipy.stats import t as student_t  # noqa: PLC0415

    return float(student_t.ppf(0.5 + confidence / 2, df))


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(successes: int, n: int, confidence: float = CONFIDENCE) -> Interval | None:
    """Wilson score interval for successes / n; None without members."""
    if n <= 0:
        return None
    z = _z(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


def newcombe_difference(
    k1: int, n1: int, k2: int, n2: int, confidence: float = CONFIDENCE
) -> Interval | None:
    """Interval for k1/n1 − k2/n2 (Newcombe 1998, method 10); None if a group is empty."""
    first, second = wilson(k1, n1, confidence), wilson(k2, n2, confidence)
    if first is None or second is None:
        return None
    p1, p2 = k1 / n1, k2 / n2
    difference = p1 - p2
    low = difference - math.sqrt((p1 - first.low) ** 2 + (second.high - p2) ** 2)
    high = difference + math.sqrt((first.high - p1) ** 2 + (p2 - second.low) ** 2)
    return Interval(low, high)


def welch_difference(a: Sample, b: Sample, confidence: float = CONFIDENCE) -> Interval | None:
    """Welch's interval for mean(a) − mean(b); None unless both have two values."""
    if a.variance is None or b.variance is None:
        return None
    difference = a.mean - b.mean
    va, vb = a.variance / a.n, b.variance / b.n
    se = math.sqrt(va + vb)
    if se == 0:
        return Interval(difference, difference)
    df = (va + vb) ** 2 / (va * va / (a.n - 1) + vb * vb / (b.n - 1))
    half = _t(confidence, df) * se
    return Interval(difference - half, difference + half)


def mean_interval(sample: Sample, confidence: float = CONFIDENCE) -> Interval | None:
    """Student's t interval for a group's mean (error bars); None below two values."""
    if sample.variance is None:
        return None
    half = _t(confidence, sample.n - 1) * math.sqrt(sample.variance / sample.n)
    return Interval(sample.mean - half, sample.mean + half)
