-- Circuit breakers as the gateway reports them.
--
-- The live breakers are records in httpd's shared memory (docs/resilience.md), which the
-- dashboard CGI cannot read. Every transition (closed -> open, open -> half-open when a
-- probe goes out, half-open -> closed or open) is written here by a background thread
-- of the httpd child that made it, never by the request. Times are the gateway's clock
-- (UTC) at the transition; a transition older than the row's is ignored, so reports of
-- several children arriving out of order leave the newest state.
-- provider_breaker_events keeps every reported transition (append-only).

CREATE TABLE provider_breaker_state (
  provider        VARCHAR(32) NOT NULL PRIMARY KEY,
  state           ENUM('closed','open','half-open') NOT NULL,
  failures        INT UNSIGNED NOT NULL DEFAULT 0,   -- consecutive failures when it opened
  opened_at       DATETIME(6) NULL,                  -- the last time it opened
  open_until      DATETIME(6) NULL,                  -- open: when a probe may go; half-open: probe deadline
  updated_at      DATETIME(6) NOT NULL,              -- the transition into `state`
  reported_at     DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE provider_breaker_events (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  provider        VARCHAR(32) NOT NULL,
  from_state      ENUM('closed','open','half-open') NOT NULL,
  to_state        ENUM('closed','open','half-open') NOT NULL,
  failures        INT UNSIGNED NOT NULL DEFAULT 0,
  open_until      DATETIME(6) NULL,
  at              DATETIME(6) NOT NULL,
  KEY ix_breaker_events_provider (provider, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
