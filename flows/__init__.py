"""Orchestration only: the Prefect flow, its deployment and run configs. The only package importing prefect."""
