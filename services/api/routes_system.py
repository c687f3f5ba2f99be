"""GET /health, GET /api/scheduler/status, POST /api/scheduler/jobs/{id}/run."""
from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from services.jobs import definitions as jobs
from services.api.deps import principal, services
from services.api.schemas import ErrorOut, HealthOut, JobStatusOut, RunJobOut
from services.api.serialize import job_run_out
from services.accounts.api_auth import ApiPrincipal
from services.container import Services
from services.accounts.roles import Permission, require

log = logging.getLogger("meterline.api")
router = APIRouter()
AUTH_ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}}


@router.get("/health", response_model=HealthOut, tags=["system"], responses={503: {"model": HealthOut}})
def health(svc: Services = Depends(services)):
    """Liveness plus a database round trip (503 when the database does not answer). No token needed."""
    body = {"status": "ok", "database": "ok", "backend": svc.db.backend_name,
            "integrations": {"payment_links": svc.payment_links.name, "remote_photos": svc.remote_photos.name,
                             "advisor": svc.advisor.name, "events": type(svc.events).__name__}}
    try:
        svc.db.storage.ping()
    except Exception as exc:  # any failure of the round trip means "not healthy", never a 500
        log.warning("health: database check failed: %s", exc)
        body.update(status="degraded", database=f"unreachable: {exc.__class__.__name__}")
        return JSONResponse(body, status_code=503)
    return body


@router.get("/api/scheduler/status", response_model=list[JobStatusOut], tags=["scheduler"], responses=AUTH_ERRORS)
def scheduler_status(who: ApiPrincipal = Depends(principal), svc: Services = Depends(services)):
    """Each scheduled job: id, name, schedule, next run, and its last run (status, times, counts, error)."""
    require(who.actor, Permission.RUN_JOBS)
    return jobs.job_status(svc)


@router.post("/api/scheduler/jobs/{job_id}/run", response_model=RunJobOut, tags=["scheduler"],
             responses={**AUTH_ERRORS, 404: {"model": ErrorOut}, 409: {"model": RunJobOut}})
def run_job(job_id: str = Path(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$"),
            who: ApiPrincipal = Depends(principal), svc: Services = Depends(services)):
    """Run a job now, as the caller. 409 when this period's run of the job is already done or running
    (jobs run once per period, whoever starts them)."""
    require(who.actor, Permission.RUN_JOBS)
    run = jobs.run_job(svc, job_id, actor=who.actor)
    if run is None:
        return JSONResponse({"started": False, "run": None,
                             "message": f"Job {job_id} already ran (or is running) for this period; nothing was started."},
                            status_code=409)
    message = f"Job {job_id} finished: {run.status}." if run.status != "running" else f"Job {job_id} started."
    return {"started": True, "message": message, "run": job_run_out(run)}

