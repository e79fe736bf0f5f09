"""The services a run uses (Ray, Spark, MLflow, the task runner of the mapped stages), declared once.

``config`` holds their settings (the flow's ``services:`` section, the one place a run names them);
``ray_token`` keeps Ray's token authentication on for every Ray the project starts or joins;
``preflight`` checks a run's services before any work, so a wrong address fails in seconds, naming the
setting, instead of hanging a stage half-way.
"""
