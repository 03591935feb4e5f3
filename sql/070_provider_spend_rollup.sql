-- Conduix: what each request cost its provider at list price, and those costs summed
-- per provider and UTC hour.
--
-- A provider's month spend (the counter behind budgets and their alerts, see
-- mod_conduix/conduix_budget.c) is rebuilt whenever its shared counter is absent:
-- after a restart, by every request in flight at that moment. Summed from
-- usage_events joined with the deployments' prices, that rebuild read every usage row
-- of the month, for every provider; with a few hundred thousand rows it took tens of
-- seconds and held every worker. From this table it reads at most 744 rows per
-- provider and month. The gateway writes the rows' costs and this rollup in the
-- transaction that records the usage rows, so the two always agree.

ALTER TABLE usage_events
  ADD COLUMN provider_cost_nano BIGINT NOT NULL DEFAULT 0 AFTER charged_nano;

-- Rows recorded before: each request's cost at the deployment's price, rounded half
-- up to a nanocredit, as the gateway computes it (cache hits cost nothing).
UPDATE usage_events u
  JOIN model_deployments d ON d.model_id = u.served_model AND d.provider = u.provider
   SET u.provider_cost_nano = (CAST(u.prompt_tokens AS DECIMAL(40,0)) * d.input_price_nano
                               + CAST(u.completion_tokens AS DECIMAL(40,0)) * d.output_price_nano
                               + 500000) DIV 1000000
 WHERE u.cache_hit = 0;

CREATE TABLE usage_rollup_provider_hour (
  provider           VARCHAR(64) NOT NULL,
  hour               DATETIME NOT NULL,               -- UTC, minutes and seconds zero
  requests           BIGINT UNSIGNED NOT NULL,
  provider_cost_nano BIGINT NOT NULL,
  PRIMARY KEY (provider, hour)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT INTO usage_rollup_provider_hour (provider, hour, requests, provider_cost_nano)
SELECT provider, DATE_FORMAT(created_at, '%Y-%m-%d %H:00:00'), COUNT(*), SUM(provider_cost_nano)
FROM usage_events
WHERE provider IS NOT NULL
GROUP BY provider, DATE_FORMAT(created_at, '%Y-%m-%d %H:00:00');
