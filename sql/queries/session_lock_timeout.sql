-- Sets how long this session's lock waits may take ('0' for no bound).
-- $1 text: e.g. '1500ms'
SELECT set_config('lock_timeout', $1::text, false)
