-- Exports write times in UTC, whatever the server's TimeZone.
SET LOCAL TimeZone = 'UTC'
