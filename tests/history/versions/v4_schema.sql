-- The run-history DDL of schema version 4: version 3 (v3_schema.sql) with the steps indexed by action and by
-- host (how jcfix diagnose finds pending fixes), as toolkit/history/schema.py migration 4 adds them.
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    command TEXT NOT NULL,
    playbook TEXT,
    user TEXT NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    check_mode INTEGER NOT NULL,
    planned_hosts INTEGER NOT NULL,
    parameters TEXT NOT NULL,
    counts TEXT,
    interrupted INTEGER,
    exit_code INTEGER,
    stopped_reason TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_id ON runs (run_id);
CREATE TABLE IF NOT EXISTS hosts (
    run_seq INTEGER NOT NULL REFERENCES runs (seq),
    position INTEGER NOT NULL,
    host TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    touched INTEGER NOT NULL,
    changed INTEGER NOT NULL DEFAULT 0,
    address TEXT NOT NULL,
    port INTEGER NOT NULL,
    scheme TEXT NOT NULL,
    auth TEXT NOT NULL,
    ca_cert TEXT,
    finished TEXT NOT NULL,
    PRIMARY KEY (run_seq, host)
);
CREATE TABLE IF NOT EXISTS steps (
    run_seq INTEGER NOT NULL REFERENCES runs (seq),
    host TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    action TEXT NOT NULL,
    whatif INTEGER NOT NULL,
    status TEXT NOT NULL,
    changed INTEGER NOT NULL,
    error_category TEXT,
    error_message TEXT,
    parameters TEXT NOT NULL,
    document TEXT NOT NULL,
    findings TEXT,
    PRIMARY KEY (run_seq, host, position)
);
CREATE INDEX IF NOT EXISTS steps_by_action ON steps (action, run_seq);
CREATE INDEX IF NOT EXISTS steps_by_host ON steps (host, run_seq);
