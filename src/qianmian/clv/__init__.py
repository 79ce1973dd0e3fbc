"""Customer lifetime value: BG/NBD + Gamma-Gamma fitted on a calibration window of buy events."""

from qianmian.clv.models import BgNbd, FitError, GammaGamma
from qianmian.clv.report import ClvReport, clv_report
from qianmian.clv.scores import ClvModel, ClvOptions, fit_store, score_frame

__all__ = ["BgNbd", "ClvModel", "ClvOptions", "ClvReport", "FitError", "GammaGamma", "clv_report", "fit_store", "score_frame"]
