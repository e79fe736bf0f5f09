"""``make cluster``: the scaled-out topology of infra/, started for real on one machine as plain processes.

No Docker engine is needed: PostgreSQL (the system's binaries), the Prefect server and a process worker
polling the ``webtext`` pool, the MLflow tracking server (basic auth, proxied artifacts), a Spark
standalone master with two workers (``spark.authenticate``) and a Ray head with one worker node (token
authentication), each asking for the credentials ``infra/make-secrets.sh`` makes. ``supervisor`` starts
and stops the processes and remembers them in ``state.json``; each service has its own module; the
cluster's address book for clients is ``cluster.env`` and the run config pointing at it ``run.yaml``.
"""
