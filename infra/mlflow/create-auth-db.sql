-- Run once by the postgres image when mlflow-postgres's volume is first initialised (as the mlflow
-- superuser): the basic-auth app's users and permissions get their own database (basic_auth.ini).
-- A volume initialised before this file existed needs it once by hand:
--   docker compose -f infra/mlflow/docker-compose.yml exec mlflow-postgres psql -U mlflow -c 'CREATE DATABASE mlflow_auth'
CREATE DATABASE mlflow_auth;
