"""Models of the Jobs page's API."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class JobRunOut(BaseModel):
    id: int
    job: str
    status: str = Field(description="running | ok | error")
    counts: dict[str, Any]
    error: str | None
    started_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None


class JobInfo(BaseModel):
    name: str
    title: str
    description: str
    trigger: str = Field(description="When it runs, in words (UTC).")
    next_run_at: datetime | None = Field(description="From the scheduler of this process, when one runs here.")
    runnable: bool = Field(description="Whether this shop may run it now (for this shop only).")
    shop_last_run: JobRunOut | None = Field(description="The latest run of it for this shop.")
    schedule_last_status: str | None = Field(description="How the latest scheduled run for every shop ended.")
    schedule_last_run_at: datetime | None


class JobList(BaseModel):
    jobs: list[JobInfo]
    runs: list[JobRunOut] = Field(description="This shop's latest runs, newest first.")
    scheduler_in_process: bool
    scheduler_alive: bool = Field(description="A scheduler (here or in the clock process) beat in the last 2 minutes.")
    scheduler_last_beat: datetime | None


class RunNowResult(BaseModel):
    ok: bool
    job: str
    message: str
