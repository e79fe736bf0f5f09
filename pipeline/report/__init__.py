"""The run report: a run's folders in; the funnel, distributions, overlap, models and charts out.

Pure logic: no Prefect, no MLflow. ``build_report`` writes ``report.md``, ``report.json``, a CSV per
table and the PNGs into the report folder (``DATA_ROOT/report/``) and returns a ``RunReport``, whose
Markdown, tables and plots the flow publishes as Prefect artifacts and logs to MLflow.
"""

from pipeline.layout import REPORT_DIR
from pipeline.report.build import RunReport, build_report
from pipeline.report.folders import ReportFolders

__all__ = ["REPORT_DIR", "ReportFolders", "RunReport", "build_report"]
