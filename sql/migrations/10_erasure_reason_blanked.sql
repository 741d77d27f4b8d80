-- An erasure request's free-text reason is the requester's note and may
-- name the guest; it is blanked (NULL) when the request is decided. The
-- protocol keeps that a reason was given.
ALTER TABLE retention.erasure_requests ALTER COLUMN reason DROP NOT NULL;
ALTER TABLE retention.erasure_requests DROP CONSTRAINT erasure_requests_reason_check;
ALTER TABLE retention.erasure_requests ADD CONSTRAINT erasure_requests_reason_check
    CHECK (status <> 'open' OR btrim(reason) <> '');
