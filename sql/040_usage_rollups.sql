-- Usage rollups: usage_events summed per organization and UTC hour or day.
--   usage_rollup_day       per org, day, key, model, provider   (every day-level query)
--   usage_rollup_hour      per org, hour, key, model, provider  (hour-level, by or for one key)
--   usage_rollup_hour_org  per org, hour, model, provider       (hour-level, all keys together:
--                          a thirtieth of the rows when an org has many keys)
-- cx_store_record_usage adds each usage row to all three in the transaction that
-- inserts the row, so a rollup always equals a direct SUM over usage_events.
-- lib/cx_usage.c answers every usage query from them: whole days from the day table,
-- whole hours at the edges of a range (or every hour, for hourly buckets) from an hour
-- table, and the minutes left at either end from usage_events itself.
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
  PRIMARY KEY (org_id, hour, key_id, model, provider),
  KEY ix_rollup_hour_key (org_id, key_id, hour)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE usage_rollup_hour_org (
  org_id            BIGINT UNSIGNED NOT NULL,
  hour              DATETIME NOT NULL,
  model             VARCHAR(200) NOT NULL,
  provider          VARCHAR(64) NOT NULL,
  requests          BIGINT UNSIGNED NOT NULL,
  prompt_tokens     BIGINT UNSIGNED NOT NULL,
  completion_tokens BIGINT UNSIGNED NOT NULL,
  cost_nano         BIGINT NOT NULL,
  charged_nano      BIGINT NOT NULL,
  PRIMARY KEY (org_id, hour, model, provider)
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

INSERT INTO usage_rollup_hour_org (org_id, hour, model, provider, requests, prompt_tokens,
                                   completion_tokens, cost_nano, charged_nano)
SELECT org_id, hour, model, provider, SUM(requests), SUM(prompt_tokens), SUM(completion_tokens),
       SUM(cost_nano), SUM(charged_nano)
FROM usage_rollup_hour
GROUP BY org_id, hour, model, provider;
