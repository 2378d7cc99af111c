-- +goose Up
-- Processes that work jobs, with a heartbeat: a job whose process stopped
-- beating (or, on the same host, whose process is gone) is rescued at once
-- instead of after the queue's long stuck-job window.
CREATE TABLE workers (
    id         TEXT PRIMARY KEY, -- the queue client's id, as in river_job.attempted_by
    host       TEXT NOT NULL,
    pid        INTEGER NOT NULL,
    started_at TIMESTAMP NOT NULL,
    beat_at    TIMESTAMP NOT NULL
);
-- A job rescued from a gone worker, so that two rescuers never both
-- queue it again.
CREATE TABLE rescued_jobs (
    job_id     INTEGER PRIMARY KEY,
    rescued_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE rescued_jobs;
DROP TABLE workers;
