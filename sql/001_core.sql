-- Conduix core schema.
-- Money is stored as signed BIGINT nanocredits (1 credit = 1e9 nano ~ 1 USD), never as
-- floating point, so sums are exact. Prices are nanocredits per 1,000,000 tokens.
-- Applied by scripts/migrate, which records each file in schema_migrations.

CREATE TABLE orgs (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name            VARCHAR(200) NOT NULL,
  plan            ENUM('explorer','builder','scale','enterprise') NOT NULL DEFAULT 'explorer',
  balance_nano    BIGINT NOT NULL DEFAULT 0,
  -- volume discount: price multiplier in parts per million (1000000 = list price)
  price_multiplier_ppm INT UNSIGNED NOT NULL DEFAULT 1000000,
  created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE users (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  org_id          BIGINT UNSIGNED NOT NULL,
  email           VARCHAR(320) NOT NULL,
  password_hash   VARCHAR(255) NULL,
  role            ENUM('owner','admin','member','viewer') NOT NULL DEFAULT 'member',
  is_operator     TINYINT(1) NOT NULL DEFAULT 0,
  created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  disabled_at     DATETIME(6) NULL,
  UNIQUE KEY uq_users_email (email),
  CONSTRAINT fk_users_org FOREIGN KEY (org_id) REFERENCES orgs(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- API keys: only the SHA-256 of the secret and a short display prefix are stored.
CREATE TABLE api_keys (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  org_id          BIGINT UNSIGNED NOT NULL,
  name            VARCHAR(200) NOT NULL,
  key_hash        BINARY(32) NOT NULL,
  prefix          VARCHAR(24) NOT NULL,
  mode            ENUM('live','test') NOT NULL DEFAULT 'live',
  scopes          VARCHAR(255) NOT NULL DEFAULT 'inference',
  allowed_models  TEXT NULL,            -- JSON array; NULL = every model
  rate_limit_rpm  INT UNSIGNED NULL,    -- NULL = unlimited
  region          ENUM('US','EU','APAC') NULL,
  pii_mode        ENUM('inherit','redact','off') NOT NULL DEFAULT 'inherit',
  spend_cap_daily_nano   BIGINT NULL,
  spend_cap_monthly_nano BIGINT NULL,
  created_by_user_id BIGINT UNSIGNED NULL,
  created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  last_used_at    DATETIME(6) NULL,
  revoked_at      DATETIME(6) NULL,
  UNIQUE KEY uq_api_keys_hash (key_hash),
  KEY ix_api_keys_org (org_id),
  CONSTRAINT fk_api_keys_org FOREIGN KEY (org_id) REFERENCES orgs(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Providers. base_url is the default; the ConduixProvider directive overrides it.
-- credential_ref names where the secret lives (env:NAME or file:/path), never the secret.
CREATE TABLE providers (
  name            VARCHAR(32) NOT NULL PRIMARY KEY,
  display_name    VARCHAR(64) NOT NULL,
  region          ENUM('US','EU','APAC') NOT NULL,
  api_format      ENUM('openai','anthropic','google') NOT NULL DEFAULT 'openai',
  base_url        VARCHAR(512) NOT NULL,
  credential_ref  VARCHAR(255) NULL,
  enabled         TINYINT(1) NOT NULL DEFAULT 1,
  monthly_budget_nano BIGINT NULL,
  hard_cap        TINYINT(1) NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Models: one row per canonical id. provider/prices are those of the primary deployment.
CREATE TABLE models (
  id              VARCHAR(128) NOT NULL PRIMARY KEY,
  display_name    VARCHAR(128) NOT NULL,
  provider        VARCHAR(32) NOT NULL,
  tier            ENUM('frontier','premium','mid','budget') NOT NULL,
  swap_band       ENUM('flagship','cheap-fast','none') NOT NULL DEFAULT 'none',
  context_window  INT UNSIGNED NOT NULL,
  max_output_tokens INT UNSIGNED NOT NULL DEFAULT 4096,
  vision          TINYINT(1) NOT NULL DEFAULT 0,
  input_price_nano  BIGINT NOT NULL,    -- per 1M prompt tokens
  output_price_nano BIGINT NOT NULL,    -- per 1M completion tokens
  price_source    ENUM('seed-002','provider-list') NOT NULL,
  enabled         TINYINT(1) NOT NULL DEFAULT 1,
  created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  CONSTRAINT fk_models_provider FOREIGN KEY (provider) REFERENCES providers(name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Where a model can be served: one row per (model, provider), with the id the
-- provider's API expects and that provider's price.
CREATE TABLE model_deployments (
  model_id        VARCHAR(128) NOT NULL,
  provider        VARCHAR(32) NOT NULL,
  upstream_model  VARCHAR(160) NOT NULL,
  input_price_nano  BIGINT NOT NULL,
  output_price_nano BIGINT NOT NULL,
  PRIMARY KEY (model_id, provider),
  CONSTRAINT fk_deploy_model FOREIGN KEY (model_id) REFERENCES models(id) ON DELETE CASCADE,
  CONSTRAINT fk_deploy_provider FOREIGN KEY (provider) REFERENCES providers(name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Aliases: short ids and provider/model forms. A non-NULL provider pins the request to it.
CREATE TABLE model_aliases (
  alias           VARCHAR(200) NOT NULL PRIMARY KEY,
  model_id        VARCHAR(128) NOT NULL,
  provider        VARCHAR(32) NULL,
  CONSTRAINT fk_alias_model FOREIGN KEY (model_id) REFERENCES models(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Curated, editable fallback chain: position 0 is the primary deployment.
CREATE TABLE fallback_chains (
  model_id        VARCHAR(128) NOT NULL,
  position        SMALLINT UNSIGNED NOT NULL,
  target_model_id VARCHAR(128) NOT NULL,
  target_provider VARCHAR(32) NOT NULL,
  PRIMARY KEY (model_id, position),
  CONSTRAINT fk_chain_model FOREIGN KEY (model_id) REFERENCES models(id) ON DELETE CASCADE,
  CONSTRAINT fk_chain_target FOREIGN KEY (target_model_id, target_provider)
    REFERENCES model_deployments(model_id, provider) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per request that reached the routing stage. request_id is unique so a
-- replayed spool entry can never be recorded (or charged) twice.
CREATE TABLE usage_events (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  request_id      VARCHAR(48) NOT NULL,
  org_id          BIGINT UNSIGNED NOT NULL,
  key_id          BIGINT UNSIGNED NOT NULL,
  mode            ENUM('live','test') NOT NULL,
  endpoint        VARCHAR(32) NOT NULL,
  requested_model VARCHAR(200) NOT NULL,
  served_model    VARCHAR(128) NULL,
  provider        VARCHAR(64) NULL,
  status          SMALLINT UNSIGNED NOT NULL,
  stream          TINYINT(1) NOT NULL DEFAULT 0,
  fallback        TINYINT(1) NOT NULL DEFAULT 0,
  cache_hit       TINYINT(1) NOT NULL DEFAULT 0,
  prompt_tokens   INT UNSIGNED NOT NULL DEFAULT 0,
  completion_tokens INT UNSIGNED NOT NULL DEFAULT 0,
  cost_nano       BIGINT NOT NULL DEFAULT 0,     -- list cost after org pricing
  charged_nano    BIGINT NOT NULL DEFAULT 0,     -- what the wallet paid (0 for test keys, cache hits)
  latency_ms      INT UNSIGNED NOT NULL DEFAULT 0,
  created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY uq_usage_request (request_id),
  KEY ix_usage_org_time (org_id, created_at),
  KEY ix_usage_key_time (key_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Credit ledger: every balance movement. Charges are negative.
CREATE TABLE credit_ledger (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  org_id          BIGINT UNSIGNED NOT NULL,
  kind            ENUM('topup','charge','refund','auto_reload','grant','plan_credit','adjustment') NOT NULL,
  amount_nano     BIGINT NOT NULL,
  balance_after_nano BIGINT NOT NULL,
  request_id      VARCHAR(48) NULL,
  note            VARCHAR(255) NULL,
  actor           VARCHAR(128) NULL,
  created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY uq_ledger_request (request_id),
  KEY ix_ledger_org_time (org_id, created_at),
  CONSTRAINT fk_ledger_org FOREIGN KEY (org_id) REFERENCES orgs(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Settings: org_id 0 holds platform-wide (operator) settings.
CREATE TABLE settings (
  org_id          BIGINT UNSIGNED NOT NULL,
  name            VARCHAR(64) NOT NULL,
  value           TEXT NOT NULL,
  updated_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (org_id, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Append-only audit trail: the triggers below refuse UPDATE and DELETE.
CREATE TABLE audit_log (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  org_id          BIGINT UNSIGNED NOT NULL,
  actor_type      ENUM('user','key','system','operator') NOT NULL,
  actor_id        BIGINT UNSIGNED NULL,
  actor_label     VARCHAR(320) NULL,
  ip              VARCHAR(64) NULL,
  request_id      VARCHAR(48) NULL,
  action          VARCHAR(64) NOT NULL,
  target          VARCHAR(255) NULL,
  detail          TEXT NULL,            -- JSON
  created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY ix_audit_org_time (org_id, created_at),
  KEY ix_audit_request (request_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log is append-only';

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log is append-only';
