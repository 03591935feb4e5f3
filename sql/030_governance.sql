-- Governance levers (issue 5).
--
-- Cheaper-model swaps per key: 'inherit' follows the org setting swaps_enabled, 'on' and
-- 'off' override it. (The other key levers -- allowed_models, rate_limit_rpm, region,
-- pii_mode, spend caps -- are columns of api_keys since 001.)
--
-- Org-level governance settings live in the settings table (no schema change):
--   pii_default      'on' | 'off'             PII redaction for keys whose pii_mode is inherit
--   swaps_enabled    'on' | 'off'             cheaper-model swaps for keys whose swap_mode is inherit
--   swap_never_from  JSON array of model ids  never swap a request for these models
--   swap_never_to    JSON array of model ids  never swap to these models
-- A missing row means the default ('off', empty list). Every change is audited.
ALTER TABLE api_keys
  ADD COLUMN swap_mode ENUM('inherit','on','off') NOT NULL DEFAULT 'inherit' AFTER pii_mode;
