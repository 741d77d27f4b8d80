-- The database session that records a run: the functions that end it,
-- list its candidates and write its protocol rows accept only that session
-- (retention.session_key, sql/rules/api.sql). A run over no branch (every
-- branch was busy) holds no branch lock to tell it by.
ALTER TABLE retention.runs ADD COLUMN session text NULL;
