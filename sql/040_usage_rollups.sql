-- Usage rollups: usage_events summed per organization, UTC hour (or day), key,
-- model and provider. cx_store_record_usage adds each usage row to both tables in
-- the transaction that inserts the row, so a rollup always equals a direct SUM over
-- usage_events. lib/cx_usage.c answers every usage query from them: whole days from
-- usage_rollup_day, whole hours at the edges of a range from usage_rollup_hour, and
-- the minutes left at either end from usage_events itself.
--
-- model is the model that served the request (the requested id when nothing was
-- served); provider is '' when no provider was reached. Money is nanocredits:
-- cost_nano is the list cost after org pricing, charged_nano what the wallet paid.

CREATE TABLE usage_rollup_hour (
  org_id            BIGINT UNSIGNED NOT NULL,
  hour              DATETIME NOT NULL,               -- UTC, minutes and seconds zero
  key_id            BIGINT UNSIGNED NOT NULL,
  model             VARCHAR(200) NOT NULL,
  provider          VARCHAR(64) NOT NULL,
  requests          BIGINT UNSIGNED NOT NULL,
  prompt_tokens     BIGINT UNSIGNED NOT NULL,
  completion_tokens BIGINT UNSIGNED NOT NULL,
  cost_nano         BIGINT NOT NULL,
  charged_nano      BIGINT NOT NULL,
  PRIMARY KEY (org_id, hour, key_id, model, provider)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE usage_rollup_day (
  org_id            BIGINT UNSIGNED NOT NULL,
  day               DATE NOT NULL,                   -- UTC
  key_id            BIGINT UNSIGNED NOT NULL,
  model             VARCHAR(200) NOT NULL,
  provider          VARCHAR(64) NOT NULL,
  requests          BIGINT UNSIGNED NOT NULL,
  prompt_tokens     BIGINT UNSIGNED NOT NULL,
  completion_tokens BIGINT UNSIGNED NOT NULL,
  cost_nano         BIGINT NOT NULL,
  charged_nano      BIGINT NOT NULL,
  PRIMARY KEY (org_id, day, key_id, model, provider)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Rows recorded before this migration.
INSERT INTO usage_rollup_hour (org_id, hour, key_id, model, provider, requests, prompt_tokens,
                               completion_tokens, cost_nano, charged_nano)
SELECT org_id, DATE_FORMAT(created_at, '%Y-%m-%d %H:00:00'), key_id,
       COALESCE(served_model, requested_model), COALESCE(provider, ''),
       COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_nano), SUM(charged_nano)
FROM usage_events
GROUP BY org_id, DATE_FORMAT(created_at, '%Y-%m-%d %H:00:00'), key_id,
         COALESCE(served_model, requested_model), COALESCE(provider, '');

INSERT INTO usage_rollup_day (org_id, day, key_id, model, provider, requests, prompt_tokens,
                              completion_tokens, cost_nano, charged_nano)
SELECT org_id, DATE(hour), key_id, model, provider, SUM(requests), SUM(prompt_tokens),
       SUM(completion_tokens), SUM(cost_nano), SUM(charged_nano)
FROM usage_rollup_hour
GROUP BY org_id, DATE(hour), key_id, model, provider;
