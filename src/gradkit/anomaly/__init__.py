"""Anomaly detection on time series, and the Numenta Anomaly Benchmark's scoring rules."""

from .detector import FEATURES, DerivativeDetector, rows_per_day
from .nab import (
    PROBATION_PERCENT,
    PROFILES,
    CorpusScore,
    FileScore,
    NABCorpus,
    Profile,
    best_threshold,
    load_corpus,
    probation_length,
    scaled_sigmoid,
    score_corpus,
    score_file,
    threshold_sweep,
    window_rows,
)

__all__ = ["DerivativeDetector", "FEATURES", "PROBATION_PERCENT", "PROFILES", "CorpusScore",
           "FileScore", "NABCorpus", "Profile", "best_threshold", "load_corpus",
           "probation_length", "scaled_sigmoid", "score_corpus", "score_file",
           "rows_per_day", "threshold_sweep", "window_rows"]
