-- Notification mails: a transactional outbox. A summary is rendered and
-- queued in the same transaction that records what it reports (a run's end,
-- a pending snapshot); a sender delivers it and marks it sent only after the
-- server accepted it. Recipients are managers' addresses, never guests'.

CREATE TABLE retention.mail_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('pending_summary', 'completed_summary', 'test')),
    -- one mail per purpose: 'pending:<branch>:<local date>', 'completed:<run>:<branch>'
    dedupe_key      text NULL UNIQUE,
    branch_id       bigint NULL,
    run_id          bigint NULL,
    locale          text NOT NULL,
    recipients      text[] NOT NULL CHECK (cardinality(recipients) > 0),
    -- stable across redeliveries, so a resend after a crash is recognisable
    message_id      text NOT NULL UNIQUE,
    subject         text NOT NULL,
    body_text       text NOT NULL,
    body_html       text NOT NULL,
    created_at      timestamptz NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text NULL,
    sent_at         timestamptz NULL,
    server_response text NULL,
    failed_at       timestamptz NULL
);

CREATE INDEX mail_outbox_due_idx ON retention.mail_outbox (next_attempt_at)
    WHERE sent_at IS NULL AND failed_at IS NULL;

-- The pending summary's snapshot per branch and local day: claimed once a
-- day (also when nothing is due and no mail goes out), with what it counted.
CREATE TABLE retention.pending_snapshots (
    branch_id  bigint NOT NULL,
    local_date date NOT NULL,
    taken_at   timestamptz NOT NULL,
    overdue    bigint NOT NULL,
    due_soon   bigint NOT NULL,
    outbox_id  bigint NULL REFERENCES retention.mail_outbox (id),
    PRIMARY KEY (branch_id, local_date)
);
