"""The Celery app of step workers: `celery -A s3_pipelines.dagster_defs.celery_app worker -Q dagster`.

dagster-celery's own `dagster-celery worker start` writes a config module under $DAGSTER_HOME
first; this app reads the broker from the environment instead (`DAGSTER_CELERY_BROKER_URL`,
`DAGSTER_CELERY_BACKEND_URL`), so a worker needs no files: a container or a host with the package,
the pipelines file and the environment of the code location. Its settings are the executor's
(executor.py), so submitter and workers agree on acknowledgement and redelivery.
"""

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task, create_task

from .executor import CELERY_SETTINGS, celery_backend, celery_broker

app = make_app()
app.conf.update(broker_url=celery_broker(), result_backend=celery_backend(), **CELERY_SETTINGS)

execute_plan = create_task(app)
execute_job = create_execute_job_task(app)
resume_job = create_resume_job_task(app)
