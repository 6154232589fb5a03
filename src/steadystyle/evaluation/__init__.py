"""Measuring stylized video: `evaluate_videos` scores versions of one clip (flicker, style, content, speed),
`analyze` studies why some styles flicker; each has its report.

It builds on the core (metrics, losses, stylize, optimize) and `steadystyle.video`; nothing in the core
imports it.
"""

from ._analysis import PERTURBATIONS, AnalysisSettings, analyze, default_content
from ._analysis_report import (ANALYSIS_FILES, ANALYSIS_JSON, ANALYSIS_PLOT, markdown_tables, protocol_note,
                               write_analysis_report)
from ._evaluate import (EvaluateSettings, Evaluation, EvaluationError, MethodScores, evaluate_videos, method_paths,
                        scoring_loss)
from ._evaluate_report import (PLOT_NAME, REPORT_FILES, REPORT_HTML, flicker_note, plot_warping_error,
                               results_table, settings_note, table_rows, write_report)

__all__ = ["ANALYSIS_FILES", "ANALYSIS_JSON", "ANALYSIS_PLOT", "PERTURBATIONS", "PLOT_NAME", "REPORT_FILES",
           "REPORT_HTML", "AnalysisSettings", "EvaluateSettings", "Evaluation", "EvaluationError", "MethodScores",
           "analyze", "default_content", "evaluate_videos", "flicker_note", "markdown_tables", "method_paths",
           "plot_warping_error", "protocol_note", "results_table", "scoring_loss", "settings_note", "table_rows",
           "write_analysis_report", "write_report"]
