-- BYO endpoints: an organization's own OpenAI-compatible servers (a self-hosted model,
-- a provider account of its own). Requests for "byo:<slug>/<model>" are routed to
-- base_url + /chat/completions with the endpoint's credential as Bearer token, past
-- the SSRF guard. region is the endpoint's data residency (US, EU, APAC); models is a
-- JSON array of the model ids it serves (NULL or [] = any id the client names).
-- The credential is stored because it must be sent; it is never printed by
-- conduixctl byo-list nor logged.
CREATE TABLE byo_endpoints (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  org_id          BIGINT UNSIGNED NOT NULL,
  slug            VARCHAR(64) NOT NULL,
  base_url        VARCHAR(512) NOT NULL,
  credential      TEXT NULL,
  region          ENUM('US','EU','APAC') NOT NULL DEFAULT 'US',
  models          TEXT NULL,
  enabled         TINYINT(1) NOT NULL DEFAULT 1,
  created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  UNIQUE KEY uq_byo_org_slug (org_id, slug),
  CONSTRAINT fk_byo_org FOREIGN KEY (org_id) REFERENCES orgs(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
