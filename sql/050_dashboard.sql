-- Conduix dashboard (conduix-admin): sessions, login throttling, member invites and the
-- defaults of the platform settings the dashboard reads.

-- A dashboard session. The cookie carries 32 random bytes; only their SHA-256 is stored,
-- so a leaked table cannot be replayed as cookies. The CSRF token is derived from the
-- cookie value (never stored). Rows are deleted at logout and when a member is removed.
CREATE TABLE dashboard_sessions (
  token_hash      BINARY(32) NOT NULL PRIMARY KEY,
  user_id         BIGINT UNSIGNED NOT NULL,
  org_id          BIGINT UNSIGNED NOT NULL,
  ip              VARCHAR(64) NULL,
  user_agent      VARCHAR(255) NULL,
  created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  last_seen_at    DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  expires_at      DATETIME(6) NOT NULL,
  KEY ix_dashboard_sessions_user (user_id),
  KEY ix_dashboard_sessions_expiry (expires_at),
  CONSTRAINT fk_dashboard_sessions_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every login attempt, successful or not: the throttle counts recent failures per
-- account (email as typed, lower-cased) and per client address.
CREATE TABLE login_attempts (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email           VARCHAR(320) NOT NULL,
  ip              VARCHAR(64) NOT NULL,
  success         TINYINT(1) NOT NULL,
  created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  KEY ix_login_attempts_email (email, created_at),
  KEY ix_login_attempts_ip (ip, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Member invitations: a one-time link (32 random bytes, SHA-256 stored) shown once to
-- the inviter; accepting it sets the new member's password.
CREATE TABLE invites (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  org_id          BIGINT UNSIGNED NOT NULL,
  email           VARCHAR(320) NOT NULL,
  role            ENUM('owner','admin','member','viewer') NOT NULL DEFAULT 'member',
  token_hash      BINARY(32) NOT NULL,
  invited_by_user_id BIGINT UNSIGNED NULL,
  created_at      DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  expires_at      DATETIME(6) NOT NULL,
  accepted_at     DATETIME(6) NULL,
  accepted_user_id BIGINT UNSIGNED NULL,
  revoked_at      DATETIME(6) NULL,
  UNIQUE KEY uq_invites_token (token_hash),
  KEY ix_invites_org (org_id),
  CONSTRAINT fk_invites_org FOREIGN KEY (org_id) REFERENCES orgs(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Platform settings (org 0) the dashboard reads; an operator may change them in SQL.
-- Org settings written by the Settings page (absent = not set), besides the governance
-- ones of 030_governance.sql (pii_default, swaps_enabled, swap_never_from, swap_never_to):
--   spend_cap_daily_nano, spend_cap_monthly_nano   BIGINT text, nanocredits
--   auto_reload_enabled                            "on" | "off"
--   auto_reload_threshold_nano, auto_reload_amount_nano
-- Platform settings (org 0) written by operators:
--   byo_allow_networks                             CIDRs BYO endpoints may use (mirror of the
--                                                  ConduixByoAllowNetworks directive)
INSERT IGNORE INTO settings (org_id, name, value) VALUES
  (0, 'dashboard_login_max_failures_account', '5'),
  (0, 'dashboard_login_max_failures_ip', '30'),
  (0, 'dashboard_login_window_seconds', '900'),
  (0, 'dashboard_session_ttl_seconds', '43200'),
  (0, 'dashboard_session_idle_seconds', '7200'),
  (0, 'dashboard_invite_ttl_seconds', '604800');
