-- Provider budgets: where alerts go and which were sent.
--
-- providers.monthly_budget_nano / providers.hard_cap (001) set the budget. The gateway keeps
-- each provider's spend for the current UTC month as a shared counter (what the provider bills
-- us: tokens x the deployment's list price, cache hits excluded) and posts an alert when the
-- spend reaches 70, 80, 90 and 100 % of the budget. provider_budget_alerts holds one row per
-- threshold sent, so each threshold goes out once per month even across restarts. Webhook
-- targets come from the ConduixBudgetAlert directive and from budget_alert_webhooks.

CREATE TABLE budget_alert_webhooks (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  format          ENUM('slack','teams') NOT NULL,
  url             VARCHAR(2048) NOT NULL,     -- http(s) only; other schemes are ignored (logged)
  enabled         TINYINT(1) NOT NULL DEFAULT 1,
  created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE provider_budget_alerts (
  provider        VARCHAR(32) NOT NULL,
  month           CHAR(7) NOT NULL,            -- UTC, "2026-05"
  threshold_pct   TINYINT UNSIGNED NOT NULL,   -- 70, 80, 90, 100
  spend_nano      BIGINT NOT NULL,
  budget_nano     BIGINT NOT NULL,
  sent_at         DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (provider, month, threshold_pct)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Rebuilding a provider's month spend from usage_events (after the shared state was lost)
-- reads one provider's rows in a time range.
CREATE INDEX ix_usage_provider_time ON usage_events (provider, created_at);
