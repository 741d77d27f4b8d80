-- Data subject erasure requests under the four-eyes principle: one person
-- requests (the guest's newsletter ends at once), a second one approves
-- (the guest is anonymized now) or rejects. At most one open request per
-- guest. The reason is the admins' note; the protocol holds only ids.

CREATE TABLE retention.erasure_requests (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guest_id        bigint NOT NULL,
    branch_id       bigint NOT NULL,
    reason          text NOT NULL CHECK (btrim(reason) <> ''),
    requested_by    text NOT NULL,
    requested_at    timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'approved', 'rejected')),
    decided_by      text NULL,
    decided_at      timestamptz NULL,
    decision_reason text NULL,
    CHECK ((status = 'open') = (decided_by IS NULL)),
    CHECK (decided_by IS NULL OR status = 'rejected' OR decided_by <> requested_by)
);

CREATE UNIQUE INDEX erasure_requests_one_open_idx
    ON retention.erasure_requests (guest_id) WHERE status = 'open';
CREATE INDEX erasure_requests_branch_open_idx
    ON retention.erasure_requests (branch_id, requested_at) WHERE status = 'open';
