"""Runs that `s3-pipelines run` and `demo` execute in their own process carry the code location's
origin, so the UI places them where it places sensor- and UI-launched runs: the Overview timeline
and the job's run list group runs by their repository origin, and an in-process run has none.

Dagster has no public API to give an in-process run an origin; this uses the run storage's
`replace_job_origin` (what Dagster's own run-history migration uses) and the origin classes the
webserver builds for a `python_module` code location. The name is the one `workspace.yaml`,
`dg.toml` and `pyproject.toml` give the code location."""

from __future__ import annotations

import os
import sys

import dagster as dg

CODE_LOCATION = "s3_pipelines"
DEFINITIONS_MODULE = "s3_pipelines.definitions"
REPOSITORY = "__repository__"  # the repository Dagster makes of a `Definitions` object
REPOSITORY_LABEL_TAG = ".dagster/repository"  # Dagster's tag of a run's repository


def attach_code_location(instance: dg.DagsterInstance, run_id: str, location: str = CODE_LOCATION) -> bool:
    """Give a finished in-process run the origin of the code location; False if it has one or is gone."""
    from dagster._core.remote_origin import (
        ManagedGrpcPythonEnvCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    run = instance.get_run_by_id(run_id)
    if run is None or run.remote_job_origin is not None:
        return False
    target = LoadableTargetOrigin(executable_path=sys.executable, module_name=DEFINITIONS_MODULE,
                                  working_directory=os.getcwd())
    repository = RemoteRepositoryOrigin(ManagedGrpcPythonEnvCodeLocationOrigin(target, location), REPOSITORY)
    try:
        # a job's runs page filters on this tag; replace_job_origin only updates a tag row that exists
        instance.add_run_tags(run_id, {REPOSITORY_LABEL_TAG: repository.get_label()})
        instance.run_storage.replace_job_origin(instance.get_run_by_id(run_id), RemoteJobOrigin(repository, run.job_name))
    except Exception:  # the run happened and its events are stored; only its place in the UI is lost
        return False
    return True


def execute_here(job: dg.JobDefinition, instance: dg.DagsterInstance, **kwargs) -> dg.ExecuteInProcessResult:
    """`job.execute_in_process` for the CLI's runs, placed in the UI under the code location."""
    result = job.execute_in_process(instance=instance, **kwargs)
    attach_code_location(instance, result.run_id)
    return result
