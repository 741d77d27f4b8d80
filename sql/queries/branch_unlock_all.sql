-- Releases every branch lock this session holds. A run calls it when it
-- ends, so that a run started right after never races the closing backend;
-- a crashed run loses its locks with its connection instead.
SELECT pg_advisory_unlock_all()
