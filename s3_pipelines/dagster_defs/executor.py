"""Where a run's steps execute, chosen by the deployment (`S3_PIPELINES_EXECUTOR`), not the config
file: the same pipelines run on a laptop and on a cluster.

- `in_process` (default): the steps of a run share its process: the assets do their own parallel
  I/O, and a process per step costs seconds and hundreds of MB on a small machine;
- `multiprocess`: a process per step on the run's machine;
- `celery`: each step is a task on a Celery broker (`DAGSTER_CELERY_BROKER_URL`, e.g.
  `pyamqp://guest:guest@rabbitmq:5672//` or `redis://redis:6379/0`; results on
  `DAGSTER_CELERY_BACKEND_URL`, default `rpc://`), executed by `celery -A
  s3_pipelines.dagster_defs.celery_app worker` processes on any machine (package `dagster-celery`);
- `k8s`: each step is a Kubernetes Job (`dagster_k8s.k8s_job_executor`, package `dagster-k8s`),
  configured from the run launcher's settings in the Helm values.

Every step keeps its state in the state database and S3 staging, so steps may land anywhere.
"""

from __future__ import annotations

import os

import dagster as dg

EXECUTORS = ("in_process", "multiprocess", "celery", "k8s")

# Celery: a task is acknowledged only when it finished, and given back to the broker when its
# worker dies, so a step of a killed worker runs again on another one (RabbitMQ redelivers at
# once; Redis after its visibility timeout). One task at a time per worker process.
CELERY_SETTINGS = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
    "broker_connection_retry_on_startup": True,
}


def celery_broker() -> str:
    return os.environ.get("DAGSTER_CELERY_BROKER_URL", "pyamqp://guest:guest@localhost:5672//")


def celery_backend() -> str:
    return os.environ.get("DAGSTER_CELERY_BACKEND_URL", "rpc://")


def executor_from_env() -> dg.ExecutorDefinition:
    kind = os.environ.get("S3_PIPELINES_EXECUTOR", "in_process")
    if kind == "in_process":
        return dg.in_process_executor
    if kind == "multiprocess":
        return dg.multiprocess_executor
    if kind == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured({
            "broker": {"env": "DAGSTER_CELERY_BROKER_URL"} if "DAGSTER_CELERY_BROKER_URL" in os.environ else celery_broker(),
            "backend": {"env": "DAGSTER_CELERY_BACKEND_URL"} if "DAGSTER_CELERY_BACKEND_URL" in os.environ else celery_backend(),
            "config_source": CELERY_SETTINGS,
        })
    if kind == "k8s":
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    raise ValueError(f"S3_PIPELINES_EXECUTOR={kind!r}: one of {', '.join(EXECUTORS)}")
