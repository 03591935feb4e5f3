-- Conduix model catalog seed.
--
-- Sources: seeds/000-models-and-pricing (catalog, tiers, the gpt-4o-mini fallback example) and
-- seeds/002-model-tiers (swap bands, regions, vision, prices). SPEC §2 decides conflicts: 002's
-- prices win (gpt-4o-mini is $0.15/$0.60, not 000's $0.165/$0.66), canonical ids are
-- provider-native, short names and `provider/model` forms are aliases (the latter pin the provider).
--
-- Money: 1 credit = 1 USD = 1,000,000,000 nanocredits; prices are nanocredits per 1M tokens
-- ($0.15 -> 150000000). price_source 'seed-002' = price taken from 002; 'provider-list' = the
-- provider's public list price (the comment on each row says where it came from; "unverified"
-- means it could not be confirmed from a stored copy of the provider's page and is a defensible
-- figure an operator should re-check).
--
-- Order matters for the foreign keys: providers, models, model_deployments, model_aliases,
-- fallback_chains. Applied once by scripts/migrate.

-- ---------------------------------------------------------------------------------------------
-- Providers
-- region: 002's `global` providers -> US, mistral -> EU, `cn` and `in` providers -> APAC.
-- base_url: appending /chat/completions gives the chat endpoint for the OpenAI-format providers;
-- anthropic appends /messages, google appends /models/{model}:generateContent.
-- ---------------------------------------------------------------------------------------------
INSERT INTO providers (name, display_name, region, api_format, base_url, credential_ref) VALUES
  ('openai',    'OpenAI',                    'US',   'openai',    'https://api.openai.com/v1',                                'env:OPENAI_API_KEY'),
  ('anthropic', 'Anthropic',                 'US',   'anthropic', 'https://api.anthropic.com/v1',                             'env:ANTHROPIC_API_KEY'),
  ('google',    'Google Gemini',             'US',   'google',    'https://generativelanguage.googleapis.com/v1beta',         'env:GOOGLE_API_KEY'),
  ('groq',      'Groq',                      'US',   'openai',    'https://api.groq.com/openai/v1',                           'env:GROQ_API_KEY'),
  ('together',  'Together AI',               'US',   'openai',    'https://api.together.xyz/v1',                              'env:TOGETHER_API_KEY'),
  ('mistral',   'Mistral AI',                'EU',   'openai',    'https://api.mistral.ai/v1',                                'env:MISTRAL_API_KEY'),
  ('deepseek',  'DeepSeek',                  'US',   'openai',    'https://api.deepseek.com/v1',                              'env:DEEPSEEK_API_KEY'),
  ('fireworks', 'Fireworks AI',              'US',   'openai',    'https://api.fireworks.ai/inference/v1',                    'env:FIREWORKS_API_KEY'),
  ('xai',       'xAI (Grok)',                'US',   'openai',    'https://api.x.ai/v1',                                      'env:XAI_API_KEY'),
  -- Alibaba Cloud Model Studio (DashScope), international (Singapore) OpenAI-compatible mode.
  ('qwen',      'Alibaba Qwen (DashScope)',  'APAC', 'openai',    'https://dashscope-intl.aliyuncs.com/compatible-mode/v1',   'env:QWEN_API_KEY'),
  -- Moonshot global endpoint (api.moonshot.cn is the mainland-China one).
  ('kimi',      'Moonshot AI (Kimi)',        'APAC', 'openai',    'https://api.moonshot.ai/v1',                               'env:KIMI_API_KEY'),
  ('glm',       'Zhipu AI (GLM)',            'APAC', 'openai',    'https://open.bigmodel.cn/api/paas/v4',                     'env:GLM_API_KEY'),
  ('doubao',    'ByteDance Doubao (Volcengine Ark)', 'APAC', 'openai', 'https://ark.cn-beijing.volces.com/api/v3',           'env:DOUBAO_API_KEY'),
  ('sarvam',    'Sarvam AI',                 'APAC', 'openai',    'https://api.sarvam.ai/v1',                                 'env:SARVAM_API_KEY'),
  ('krutrim',   'Ola Krutrim',               'APAC', 'openai',    'https://cloud.olakrutrim.com/v1',                          'env:KRUTRIM_API_KEY');

-- ---------------------------------------------------------------------------------------------
-- Models (one row per canonical id; provider and prices are those of the primary deployment).
--
-- tier (000, governance): frontier = newest/top/most expensive; premium = strong general
-- purpose; mid = cost-effective workhorses; budget = cheapest, open-weight via Together/Groq/
-- DeepSeek (000). Models only in 002 are placed by price band and vendor positioning (comments).
--
-- swap_band (002): 'flagship' / 'cheap-fast' exactly as 002's tables list them. Models only in
-- 000 take the band of an obvious 002 twin; reasoning models (o3, o4-mini, deepseek-reasoner),
-- Opus (priced far above every flagship-band model) and specialists (codestral, firefunction)
-- get 'none' so a cheaper-model swap can never silently replace them.
--
-- vision: 002's column where the model is in 002 (even where the vendor has since added image
-- input, e.g. gpt-5-nano, grok-4: 002 is the product statement); provider docs otherwise.
--
-- max_output_tokens: the default sent when a client omits max_tokens and the upstream needs one
-- (Anthropic requires it): 8192 for the Claude 4.x family; elsewhere a value within the model's
-- own output limit, smaller for short-context models.
--
-- context_window of a multi-provider model is the smallest across its deployments, so any
-- deployment in its chain can take a request that passed the check.
-- ---------------------------------------------------------------------------------------------
INSERT INTO models (id, display_name, provider, tier, swap_band, context_window, max_output_tokens, vision,
                    input_price_nano, output_price_nano, price_source) VALUES
  -- ===== OpenAI (US). OpenAI's undated ids are themselves provider-native rolling ids (SPEC uses gpt-4o-mini).
  ('gpt-4o',      'GPT-4o',      'openai', 'premium',  'flagship',   128000, 16384, 1, 2500000000, 10000000000, 'seed-002'),
  ('gpt-4o-mini', 'GPT-4o mini', 'openai', 'mid',      'cheap-fast', 128000, 16384, 1,  150000000,   600000000, 'seed-002'),
  -- o3: 000 names it frontier. OpenAI list price $2/$8 (after the June-2025 cut). Reasoning model: band none.
  ('o3',          'o3',          'openai', 'frontier', 'none',       200000, 32768, 1, 2000000000,  8000000000, 'provider-list'),
  -- o4-mini: not tiered in 000; priced like claude-haiku-4-5 (mid). OpenAI list $1.10/$4.40.
  -- Band none, not cheap-fast: it is a reasoning model, and a swap to gpt-5-nano/glm-4-flash would
  -- drop the reasoning the caller paid for.
  ('o4-mini',     'o4-mini',     'openai', 'mid',      'none',       200000, 32768, 1, 1100000000,  4400000000, 'provider-list'),
  -- gpt-5-nano: 002 cheap-fast. Cheaper than every mid model (incl. gpt-4o-mini) -> budget.
  ('gpt-5-nano',  'GPT-5 nano',  'openai', 'budget',   'cheap-fast', 400000, 32768, 0,   50000000,   400000000, 'seed-002'),

  -- ===== Anthropic (US). Short names are not API ids at Anthropic; canonical ids are the dated ones.
  -- Opus 4: 000 frontier. Anthropic list $15/$75. Band none (5x the dearest flagship-band model).
  ('claude-opus-4-20250514',    'Claude Opus 4',     'anthropic', 'frontier', 'none',       200000, 8192, 1, 15000000000, 75000000000, 'provider-list'),
  -- Sonnet 4: 000 premium; band flagship like its 002 twins (claude-sonnet-4-6, claude-sonnet-5). Anthropic list $3/$15.
  ('claude-sonnet-4-20250514',  'Claude Sonnet 4',   'anthropic', 'premium',  'flagship',   200000, 8192, 1,  3000000000, 15000000000, 'provider-list'),
  ('claude-haiku-4-5-20251001', 'Claude Haiku 4.5',  'anthropic', 'mid',      'cheap-fast', 200000, 8192, 1,  1000000000,  5000000000, 'seed-002'),
  -- Sonnet 4.6 / Sonnet 5: 002 flagship; same Sonnet line as 000's premium claude-sonnet-4 -> premium.
  -- Anthropic publishes these undated. 1M context needs a beta header/tier; 200K is the default window.
  ('claude-sonnet-4-6',         'Claude Sonnet 4.6', 'anthropic', 'premium',  'flagship',   200000, 8192, 1,  3000000000, 15000000000, 'seed-002'),
  ('claude-sonnet-5',           'Claude Sonnet 5',   'anthropic', 'premium',  'flagship',   200000, 8192, 1,  2000000000, 10000000000, 'seed-002'),

  -- ===== Google (US)
  ('gemini-2.5-pro',   'Gemini 2.5 Pro',   'google', 'premium', 'flagship',   1048576, 8192, 1, 1250000000, 10000000000, 'seed-002'),
  -- 2.5 Flash: not tiered in 000; same price band as the mid workhorses -> mid.
  ('gemini-2.5-flash', 'Gemini 2.5 Flash', 'google', 'mid',     'cheap-fast', 1048576, 8192, 1,  300000000,  2500000000, 'seed-002'),

  -- ===== Groq (US), open-weight -> budget (000).
  -- llama-3.3-70b: Groq's API id is llama-3.3-70b-versatile. Groq list $0.59/$0.79 (console.groq.com/docs/models,
  -- as mirrored by mastra.ai/models/providers/groq). Band cheap-fast: its 002 twin is krutrim's
  -- Meta-Llama-3-70B (cheap-fast). Also served by together and fireworks.
  ('llama-3.3-70b-versatile', 'Llama 3.3 70B',    'groq', 'budget', 'cheap-fast', 131072, 8192, 0, 590000000, 790000000, 'provider-list'),
  -- llama-4-maverick: neutral canonical id (SPEC §2), served by groq (primary), together, fireworks.
  -- Groq list $0.20/$0.60 (same source). Band flagship: stronger sibling of Llama-4-Scout, which 002
  -- puts in flagship. Natively multimodal and all three hosts accept images. Context: Groq's 131072
  -- (Together 524288, Fireworks ~1M).
  ('llama-4-maverick',        'Llama 4 Maverick', 'groq', 'budget', 'flagship',   131072, 8192, 1, 200000000, 600000000, 'provider-list'),

  -- ===== Together (US), open-weight -> budget.
  -- 000's "qwen-3-72b-instruct": there is no Qwen3 72B; the 72B instruct model Together serves is
  -- Qwen2.5-72B-Instruct (Together id Qwen/Qwen2.5-72B-Instruct-Turbo). Canonical = Qwen's own id,
  -- also the DashScope id, so Alibaba (qwen, APAC) is a second deployment. Together list $1.20/$1.20
  -- (together.ai/pricing as mirrored by several public price tables). Band flagship like its 002 twin
  -- qwen2.5-vl-72b-instruct. Context: Together Turbo serves 32768 (DashScope 131072).
  ('qwen2.5-72b-instruct', 'Qwen2.5 72B Instruct', 'together', 'budget', 'flagship', 32768, 8192, 0, 1200000000, 1200000000, 'provider-list'),

  -- ===== Mistral (EU)
  -- mistral-large-2: Mistral Large 2 = API id mistral-large-2407. Mistral list $2/$6 (openrouter.ai listing of
  -- mistral-large-2407, same as la Plateforme). Premium (strong general purpose); band flagship (Mistral's
  -- top-line general model, same role as gpt-4o in 002's flagship table).
  ('mistral-large-2407', 'Mistral Large 2 (24.07)', 'mistral', 'premium', 'flagship', 131072, 8192, 0, 2000000000, 6000000000, 'provider-list'),
  -- codestral-2024: the 2024 Codestral is 24.05 = API id codestral-2405 (32K context). $0.20/$0.60 is the
  -- la Plateforme price after Mistral's Sept-2024 cut (launch price was $1/$3) -- unverified, no stored copy of
  -- Mistral's page with that row. If Mistral has retired 2405, repoint the deployment to codestral-latest
  -- (256K, $0.30/$0.90). Code specialist: tier mid, band none.
  ('codestral-2405', 'Codestral (24.05)', 'mistral', 'mid', 'none', 32768, 4096, 0, 200000000, 600000000, 'provider-list'),

  -- ===== DeepSeek (US per SPEC region map), open-weight -> budget (000).
  -- deepseek-v3 (000) and deepseek-chat (002) are one model: DeepSeek's API serves DeepSeek-V3 as
  -- deepseek-chat. Canonical deepseek-chat; deepseek-v3 is an alias.
  ('deepseek-chat',     'DeepSeek Chat (V3)',     'deepseek', 'budget', 'flagship', 128000,  8192, 0,  140000000,  280000000, 'seed-002'),
  -- deepseek-r1: DeepSeek's API serves R1 as deepseek-reasoner. DeepSeek list $0.55/$2.19 (cache miss),
  -- api-docs.deepseek.com/quick_start/pricing-details-usd. Reasoning model: band none.
  ('deepseek-reasoner', 'DeepSeek Reasoner (R1)', 'deepseek', 'budget', 'none',     128000, 32768, 0,  550000000, 2190000000, 'provider-list'),
  -- 1M context per api-docs.deepseek.com (V4 generation).
  ('deepseek-v4-flash', 'DeepSeek V4 Flash',      'deepseek', 'budget', 'flagship', 1048576, 8192, 0,   90000000,  180000000, 'seed-002'),

  -- ===== Fireworks (US)
  -- firefunction-v2: Fireworks' Llama-3-70B function-calling fine-tune (8K context). $0.90/$0.90 is Fireworks'
  -- serverless rate for >16B models -- unverified: Fireworks' model page now lists it as on-demand only.
  -- Open-weight -> budget; specialist -> band none.
  ('firefunction-v2', 'FireFunction V2', 'fireworks', 'budget', 'none', 8192, 2048, 0, 900000000, 900000000, 'provider-list'),

  -- ===== xAI (US). 002 flagship; priced alongside gpt-4o/Sonnet (premium), not the opus/o3 class.
  -- grok-4-3 is 002's spelling of Grok 4.3 (xAI API id grok-4.3, 1M context).
  ('grok-4-3',         'Grok 4.3',         'xai', 'premium', 'flagship',   1000000, 8192, 0, 1250000000, 2500000000, 'seed-002'),
  ('grok-4',           'Grok 4',           'xai', 'premium', 'flagship',    256000, 8192, 0, 3000000000, 7500000000, 'seed-002'),
  -- Cheap-fast coding model, priced with gpt-4o-mini/gemini-2.5-flash -> mid.
  ('grok-code-fast-1', 'Grok Code Fast 1', 'xai', 'mid',     'cheap-fast',  256000, 8192, 0,  200000000, 1500000000, 'seed-002'),

  -- ===== Qwen / Alibaba (APAC)
  -- Open-weight 72B VL served by Alibaba itself at a mid price -> mid.
  ('qwen2.5-vl-72b-instruct', 'Qwen2.5-VL 72B Instruct', 'qwen', 'mid',     'flagship',   131072, 8192, 1,  800000000, 1000000000, 'seed-002'),
  -- Alibaba's proprietary top models -> premium.
  ('qwen-vl-max',             'Qwen-VL-Max',             'qwen', 'premium', 'flagship',   131072, 8192, 1,  800000000, 3200000000, 'seed-002'),
  ('qwen-max',                'Qwen-Max',                'qwen', 'premium', 'flagship',    32768, 8192, 0, 1600000000, 6400000000, 'seed-002'),
  -- gpt-4o-mini class -> mid.
  ('qwen-plus',               'Qwen-Plus',               'qwen', 'mid',     'cheap-fast', 131072, 8192, 0,  180000000,  420000000, 'seed-002'),

  -- ===== Moonshot / Kimi (APAC). moonshot-v1-* are one model at different context lengths -> one tier (mid).
  ('moonshot-v1-8k-vision-preview', 'Moonshot v1 8K Vision (preview)', 'kimi', 'mid', 'flagship',     8192, 2048, 1,  200000000, 2000000000, 'seed-002'),
  ('moonshot-v1-32k',               'Moonshot v1 32K',                 'kimi', 'mid', 'flagship',    32768, 4096, 0, 1000000000, 3000000000, 'seed-002'),
  ('moonshot-v1-128k',              'Moonshot v1 128K',                'kimi', 'mid', 'flagship',   131072, 8192, 0, 2000000000, 5000000000, 'seed-002'),
  ('moonshot-v1-8k',                'Moonshot v1 8K',                  'kimi', 'mid', 'cheap-fast',   8192, 2048, 0,  200000000, 2000000000, 'seed-002'),

  -- ===== Zhipu GLM (APAC)
  ('glm-4-plus',  'GLM-4-Plus',  'glm', 'mid',    'flagship',   128000, 4096, 0, 690000000, 690000000, 'seed-002'),
  ('glm-4v-plus', 'GLM-4V-Plus', 'glm', 'mid',    'flagship',     8192, 1024, 1, 690000000, 690000000, 'seed-002'),
  -- $0.014 flat: the cheapest model in the catalog -> budget.
  ('glm-4-flash', 'GLM-4-Flash', 'glm', 'budget', 'cheap-fast', 128000, 4096, 0,  14000000,  14000000, 'seed-002'),

  -- ===== ByteDance Doubao (APAC). Seed "pro" = ByteDance's top-line models -> premium; turbo/vision/lite -> mid;
  -- mini -> budget. Canonical ids keep 002's spelling; Ark's ids use hyphens (see deployments).
  ('doubao-vision-pro-32k', 'Doubao Vision Pro 32K', 'doubao', 'mid',     'flagship',    32768, 4096, 1, 400000000,  1000000000, 'seed-002'),
  ('doubao-seed-2.1-turbo', 'Doubao Seed 2.1 Turbo', 'doubao', 'mid',     'flagship',   262144, 8192, 0, 420000000,  2080000000, 'seed-002'),
  ('doubao-seed-2.0-pro',   'Doubao Seed 2.0 Pro',   'doubao', 'premium', 'flagship',   262144, 8192, 0, 440000000,  2220000000, 'seed-002'),
  ('doubao-seed-2.1-pro',   'Doubao Seed 2.1 Pro',   'doubao', 'premium', 'flagship',   262144, 8192, 0, 830000000,  4170000000, 'seed-002'),
  ('doubao-seed-2.0-mini',  'Doubao Seed 2.0 Mini',  'doubao', 'budget',  'cheap-fast', 262144, 8192, 0,  28000000,   280000000, 'seed-002'),
  ('doubao-seed-2.0-lite',  'Doubao Seed 2.0 Lite',  'doubao', 'mid',     'cheap-fast', 262144, 8192, 0,  83000000,   500000000, 'seed-002'),

  -- ===== Sarvam (APAC). Open-weight, priced at the bottom of the flagship table -> budget.
  -- Context per docs.sarvam.ai: Sarvam-30B 64K, Sarvam-105B 128K.
  ('sarvam-30b',       'Sarvam 30B',       'sarvam', 'budget', 'flagship',  65536, 4096, 0,  30000000, 120000000, 'seed-002'),
  ('sarvam-105b',      'Sarvam 105B',      'sarvam', 'budget', 'flagship', 131072, 4096, 0,  48000000, 190000000, 'seed-002'),
  ('mistral-saba-24b', 'Mistral Saba 24B', 'sarvam', 'budget', 'flagship',  32768, 4096, 0, 150000000, 150000000, 'seed-002'),

  -- ===== Ola Krutrim (APAC). Canonical = the part after `krutrim/` in 002. Open-weight / cheap -> budget.
  -- Llama-4-Scout: also served by groq and together (deployments below). Context: 131072 (Groq's);
  -- Krutrim's own limit for Scout is unverified. Vision: 002 says no (Krutrim serves it text-only).
  ('meta-llama/Llama-4-Scout-17B-16E-Instruct', 'Llama 4 Scout 17B-16E Instruct', 'krutrim', 'budget', 'flagship',   131072, 4096, 0,  83000000,  83000000, 'seed-002'),
  -- 4K context per Krutrim's ai-cloud README.
  ('krutrim-spectre-v2',                        'Krutrim Spectre v2',             'krutrim', 'budget', 'flagship',     4096, 1024, 0, 200000000, 200000000, 'seed-002'),
  ('meta-llama/Meta-Llama-3-8B-Instruct',       'Llama 3 8B Instruct',            'krutrim', 'budget', 'cheap-fast',   8192, 2048, 0, 200000000, 200000000, 'seed-002'),
  ('meta-llama/Meta-Llama-3-70B',               'Llama 3 70B',                    'krutrim', 'budget', 'cheap-fast',   8192, 2048, 0, 890000000, 890000000, 'seed-002');

-- ---------------------------------------------------------------------------------------------
-- Deployments: (model, provider) -> the id that provider's API expects, at that provider's price.
-- The primary deployment repeats the models row's price.
-- ---------------------------------------------------------------------------------------------
INSERT INTO model_deployments (model_id, provider, upstream_model, input_price_nano, output_price_nano) VALUES
  ('gpt-4o',      'openai', 'gpt-4o',      2500000000, 10000000000),
  ('gpt-4o-mini', 'openai', 'gpt-4o-mini',  150000000,   600000000),
  ('o3',          'openai', 'o3',          2000000000,  8000000000),
  ('o4-mini',     'openai', 'o4-mini',     1100000000,  4400000000),
  ('gpt-5-nano',  'openai', 'gpt-5-nano',    50000000,   400000000),

  ('claude-opus-4-20250514',    'anthropic', 'claude-opus-4-20250514',    15000000000, 75000000000),
  ('claude-sonnet-4-20250514',  'anthropic', 'claude-sonnet-4-20250514',   3000000000, 15000000000),
  ('claude-haiku-4-5-20251001', 'anthropic', 'claude-haiku-4-5-20251001',  1000000000,  5000000000),
  ('claude-sonnet-4-6',         'anthropic', 'claude-sonnet-4-6',          3000000000, 15000000000),
  ('claude-sonnet-5',           'anthropic', 'claude-sonnet-5',            2000000000, 10000000000),

  ('gemini-2.5-pro',   'google', 'gemini-2.5-pro',   1250000000, 10000000000),
  ('gemini-2.5-flash', 'google', 'gemini-2.5-flash',  300000000,  2500000000),

  -- Llama 3.3 70B. Together list $0.88/$0.88 (together.ai/pricing, mirrored in public price tables);
  -- Fireworks list $0.90/$0.90 (lava.so Fireworks catalog).
  ('llama-3.3-70b-versatile', 'groq',      'llama-3.3-70b-versatile',                          590000000, 790000000),
  ('llama-3.3-70b-versatile', 'together',  'meta-llama/Llama-3.3-70B-Instruct-Turbo',          880000000, 880000000),
  ('llama-3.3-70b-versatile', 'fireworks', 'accounts/fireworks/models/llama-v3p3-70b-instruct', 900000000, 900000000),
  -- Llama 4 Maverick. Together list $0.27/$0.85; Fireworks list $0.22/$0.88 (public price tables of both).
  ('llama-4-maverick', 'groq',      'meta-llama/llama-4-maverick-17b-128e-instruct',            200000000, 600000000),
  ('llama-4-maverick', 'together',  'meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8',        270000000, 850000000),
  ('llama-4-maverick', 'fireworks', 'accounts/fireworks/models/llama4-maverick-instruct-basic', 220000000, 880000000),

  -- Qwen2.5 72B. DashScope international list $1.40/$5.60 -- unverified (from Alibaba Model Studio's
  -- international price list; not confirmed against a stored copy).
  ('qwen2.5-72b-instruct', 'together', 'Qwen/Qwen2.5-72B-Instruct-Turbo', 1200000000, 1200000000),
  ('qwen2.5-72b-instruct', 'qwen',     'qwen2.5-72b-instruct',            1400000000, 5600000000),

  ('mistral-large-2407', 'mistral', 'mistral-large-2407', 2000000000, 6000000000),
  ('codestral-2405',     'mistral', 'codestral-2405',      200000000,  600000000),

  ('deepseek-chat',     'deepseek', 'deepseek-chat',      140000000,  280000000),
  ('deepseek-reasoner', 'deepseek', 'deepseek-reasoner',  550000000, 2190000000),
  ('deepseek-v4-flash', 'deepseek', 'deepseek-v4-flash',   90000000,  180000000),

  ('firefunction-v2', 'fireworks', 'accounts/fireworks/models/firefunction-v2', 900000000, 900000000),

  -- xAI's API spells Grok 4.3 with a dot.
  ('grok-4-3',         'xai', 'grok-4.3',         1250000000, 2500000000),
  ('grok-4',           'xai', 'grok-4',           3000000000, 7500000000),
  ('grok-code-fast-1', 'xai', 'grok-code-fast-1',  200000000, 1500000000),

  ('qwen2.5-vl-72b-instruct', 'qwen', 'qwen2.5-vl-72b-instruct',  800000000, 1000000000),
  ('qwen-vl-max',             'qwen', 'qwen-vl-max',              800000000, 3200000000),
  ('qwen-max',                'qwen', 'qwen-max',                1600000000, 6400000000),
  ('qwen-plus',               'qwen', 'qwen-plus',                180000000,  420000000),

  ('moonshot-v1-8k-vision-preview', 'kimi', 'moonshot-v1-8k-vision-preview',  200000000, 2000000000),
  ('moonshot-v1-32k',               'kimi', 'moonshot-v1-32k',               1000000000, 3000000000),
  ('moonshot-v1-128k',              'kimi', 'moonshot-v1-128k',              2000000000, 5000000000),
  ('moonshot-v1-8k',                'kimi', 'moonshot-v1-8k',                 200000000, 2000000000),

  ('glm-4-plus',  'glm', 'glm-4-plus',  690000000, 690000000),
  ('glm-4v-plus', 'glm', 'glm-4v-plus', 690000000, 690000000),
  ('glm-4-flash', 'glm', 'glm-4-flash',  14000000,  14000000),

  -- Volcengine Ark model ids: hyphenated, unversioned ids resolve to the current snapshot
  -- (doubao-vision-pro-32k is pinned to its only public snapshot, 241028). An operator who uses
  -- Ark endpoint ids (ep-...) replaces upstream_model here.
  ('doubao-vision-pro-32k', 'doubao', 'doubao-vision-pro-32k-241028', 400000000, 1000000000),
  ('doubao-seed-2.1-turbo', 'doubao', 'doubao-seed-2-1-turbo',        420000000, 2080000000),
  ('doubao-seed-2.0-pro',   'doubao', 'doubao-seed-2-0-pro',          440000000, 2220000000),
  ('doubao-seed-2.1-pro',   'doubao', 'doubao-seed-2-1-pro',          830000000, 4170000000),
  ('doubao-seed-2.0-mini',  'doubao', 'doubao-seed-2-0-mini',          28000000,  280000000),
  ('doubao-seed-2.0-lite',  'doubao', 'doubao-seed-2-0-lite',          83000000,  500000000),

  ('sarvam-30b',       'sarvam', 'sarvam-30b',        30000000, 120000000),
  ('sarvam-105b',      'sarvam', 'sarvam-105b',       48000000, 190000000),
  ('mistral-saba-24b', 'sarvam', 'mistral-saba-24b', 150000000, 150000000),

  -- Llama 4 Scout: Groq list $0.11/$0.34 (console.groq.com/docs/models via mastra.ai);
  -- Together list $0.18/$0.59 -- unverified (no stored copy of together.ai/pricing with the row).
  ('meta-llama/Llama-4-Scout-17B-16E-Instruct', 'krutrim',  'meta-llama/Llama-4-Scout-17B-16E-Instruct',  83000000,  83000000),
  ('meta-llama/Llama-4-Scout-17B-16E-Instruct', 'groq',     'meta-llama/llama-4-scout-17b-16e-instruct', 110000000, 340000000),
  ('meta-llama/Llama-4-Scout-17B-16E-Instruct', 'together', 'meta-llama/Llama-4-Scout-17B-16E-Instruct', 180000000, 590000000),
  -- Krutrim's README spells its ids Krutrim-spectre-v2 / Meta-Llama-3-8B-Instruct; 002 (the product
  -- page) uses the meta-llama/... form for the Llama rows, kept as-is.
  ('krutrim-spectre-v2',                  'krutrim', 'Krutrim-spectre-v2',                  200000000, 200000000),
  ('meta-llama/Meta-Llama-3-8B-Instruct', 'krutrim', 'meta-llama/Meta-Llama-3-8B-Instruct', 200000000, 200000000),
  ('meta-llama/Meta-Llama-3-70B',         'krutrim', 'meta-llama/Meta-Llama-3-70B',         890000000, 890000000);

-- ---------------------------------------------------------------------------------------------
-- Aliases. provider NULL = resolves to the model (first entry of its chain); provider set = pins it.
-- Three kinds: 000's short names; 002's `provider/model` strings verbatim; and a pinning alias
-- `<provider>/<canonical>` for every deployment.
-- ---------------------------------------------------------------------------------------------
INSERT INTO model_aliases (alias, model_id, provider) VALUES
  -- 000 short names and other common spellings (unpinned)
  ('claude-opus-4',        'claude-opus-4-20250514',    NULL),
  ('claude-opus-4-0',      'claude-opus-4-20250514',    NULL),
  ('claude-sonnet-4',      'claude-sonnet-4-20250514',  NULL),
  ('claude-sonnet-4-0',    'claude-sonnet-4-20250514',  NULL),
  ('claude-haiku-4-5',     'claude-haiku-4-5-20251001', NULL),
  ('llama-3.3-70b',        'llama-3.3-70b-versatile',   NULL),
  ('qwen-3-72b-instruct',  'qwen2.5-72b-instruct',      NULL),
  ('mistral-large-2',      'mistral-large-2407',        NULL),
  ('codestral-2024',       'codestral-2405',            NULL),
  ('deepseek-v3',          'deepseek-chat',             NULL),
  ('deepseek-r1',          'deepseek-reasoner',         NULL),
  ('grok-4.3',             'grok-4-3',                  NULL),
  ('llama-4-scout',        'meta-llama/Llama-4-Scout-17B-16E-Instruct', NULL),

  -- 000 short names in provider form, as the 000 page groups them (pinned)
  ('anthropic/claude-opus-4',     'claude-opus-4-20250514',   'anthropic'),
  ('anthropic/claude-sonnet-4',   'claude-sonnet-4-20250514', 'anthropic'),
  ('groq/llama-3.3-70b',          'llama-3.3-70b-versatile',  'groq'),
  ('together/qwen-3-72b-instruct','qwen2.5-72b-instruct',     'together'),
  ('mistral/mistral-large-2',     'mistral-large-2407',       'mistral'),
  ('mistral/codestral-2024',      'codestral-2405',           'mistral'),
  ('deepseek/deepseek-v3',        'deepseek-chat',            'deepseek'),
  ('deepseek/deepseek-r1',        'deepseek-reasoner',        'deepseek'),

  -- 002's provider/model strings whose model part is not the canonical id (pinned)
  ('anthropic/claude-haiku-4-5',  'claude-haiku-4-5-20251001', 'anthropic'),

  -- Upstream spellings of multi-provider models (pinned to the provider whose spelling it is)
  ('meta-llama/llama-4-maverick-17b-128e-instruct',            'llama-4-maverick',        'groq'),
  ('meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8',        'llama-4-maverick',        'together'),
  ('accounts/fireworks/models/llama4-maverick-instruct-basic', 'llama-4-maverick',        'fireworks'),
  ('meta-llama/Llama-3.3-70B-Instruct-Turbo',                  'llama-3.3-70b-versatile', 'together'),
  ('accounts/fireworks/models/llama-v3p3-70b-instruct',        'llama-3.3-70b-versatile', 'fireworks'),
  ('Qwen/Qwen2.5-72B-Instruct-Turbo',                          'qwen2.5-72b-instruct',    'together'),
  ('accounts/fireworks/models/firefunction-v2',                'firefunction-v2',         'fireworks'),

  -- Pinning alias <provider>/<canonical> for every deployment. Where 002 uses exactly this string
  -- (e.g. openai/gpt-4o-mini, krutrim/meta-llama/...), this row is also 002's alias.
  ('openai/gpt-4o',      'gpt-4o',      'openai'),
  ('openai/gpt-4o-mini', 'gpt-4o-mini', 'openai'),
  ('openai/o3',          'o3',          'openai'),
  ('openai/o4-mini',     'o4-mini',     'openai'),
  ('openai/gpt-5-nano',  'gpt-5-nano',  'openai'),

  ('anthropic/claude-opus-4-20250514',    'claude-opus-4-20250514',    'anthropic'),
  ('anthropic/claude-sonnet-4-20250514',  'claude-sonnet-4-20250514',  'anthropic'),
  ('anthropic/claude-haiku-4-5-20251001', 'claude-haiku-4-5-20251001', 'anthropic'),
  ('anthropic/claude-sonnet-4-6',         'claude-sonnet-4-6',         'anthropic'),
  ('anthropic/claude-sonnet-5',           'claude-sonnet-5',           'anthropic'),

  ('google/gemini-2.5-pro',   'gemini-2.5-pro',   'google'),
  ('google/gemini-2.5-flash', 'gemini-2.5-flash', 'google'),

  ('groq/llama-3.3-70b-versatile',      'llama-3.3-70b-versatile', 'groq'),
  ('together/llama-3.3-70b-versatile',  'llama-3.3-70b-versatile', 'together'),
  ('fireworks/llama-3.3-70b-versatile', 'llama-3.3-70b-versatile', 'fireworks'),
  ('groq/llama-4-maverick',             'llama-4-maverick',        'groq'),
  ('together/llama-4-maverick',         'llama-4-maverick',        'together'),
  ('fireworks/llama-4-maverick',        'llama-4-maverick',        'fireworks'),

  ('together/qwen2.5-72b-instruct', 'qwen2.5-72b-instruct', 'together'),
  ('qwen/qwen2.5-72b-instruct',     'qwen2.5-72b-instruct', 'qwen'),

  ('mistral/mistral-large-2407', 'mistral-large-2407', 'mistral'),
  ('mistral/codestral-2405',     'codestral-2405',     'mistral'),

  ('deepseek/deepseek-chat',     'deepseek-chat',     'deepseek'),
  ('deepseek/deepseek-reasoner', 'deepseek-reasoner', 'deepseek'),
  ('deepseek/deepseek-v4-flash', 'deepseek-v4-flash', 'deepseek'),

  ('fireworks/firefunction-v2', 'firefunction-v2', 'fireworks'),

  ('xai/grok-4-3',         'grok-4-3',         'xai'),
  ('xai/grok-4',           'grok-4',           'xai'),
  ('xai/grok-code-fast-1', 'grok-code-fast-1', 'xai'),

  ('qwen/qwen2.5-vl-72b-instruct', 'qwen2.5-vl-72b-instruct', 'qwen'),
  ('qwen/qwen-vl-max',             'qwen-vl-max',             'qwen'),
  ('qwen/qwen-max',                'qwen-max',                'qwen'),
  ('qwen/qwen-plus',               'qwen-plus',               'qwen'),

  ('kimi/moonshot-v1-8k-vision-preview', 'moonshot-v1-8k-vision-preview', 'kimi'),
  ('kimi/moonshot-v1-32k',               'moonshot-v1-32k',               'kimi'),
  ('kimi/moonshot-v1-128k',              'moonshot-v1-128k',              'kimi'),
  ('kimi/moonshot-v1-8k',                'moonshot-v1-8k',                'kimi'),

  ('glm/glm-4-plus',  'glm-4-plus',  'glm'),
  ('glm/glm-4v-plus', 'glm-4v-plus', 'glm'),
  ('glm/glm-4-flash', 'glm-4-flash', 'glm'),

  ('doubao/doubao-vision-pro-32k', 'doubao-vision-pro-32k', 'doubao'),
  ('doubao/doubao-seed-2.1-turbo', 'doubao-seed-2.1-turbo', 'doubao'),
  ('doubao/doubao-seed-2.0-pro',   'doubao-seed-2.0-pro',   'doubao'),
  ('doubao/doubao-seed-2.1-pro',   'doubao-seed-2.1-pro',   'doubao'),
  ('doubao/doubao-seed-2.0-mini',  'doubao-seed-2.0-mini',  'doubao'),
  ('doubao/doubao-seed-2.0-lite',  'doubao-seed-2.0-lite',  'doubao'),

  ('sarvam/sarvam-30b',       'sarvam-30b',       'sarvam'),
  ('sarvam/sarvam-105b',      'sarvam-105b',      'sarvam'),
  ('sarvam/mistral-saba-24b', 'mistral-saba-24b', 'sarvam'),

  ('krutrim/meta-llama/Llama-4-Scout-17B-16E-Instruct',  'meta-llama/Llama-4-Scout-17B-16E-Instruct', 'krutrim'),
  ('groq/meta-llama/Llama-4-Scout-17B-16E-Instruct',     'meta-llama/Llama-4-Scout-17B-16E-Instruct', 'groq'),
  ('together/meta-llama/Llama-4-Scout-17B-16E-Instruct', 'meta-llama/Llama-4-Scout-17B-16E-Instruct', 'together'),
  ('krutrim/krutrim-spectre-v2',                         'krutrim-spectre-v2',                        'krutrim'),
  ('krutrim/meta-llama/Meta-Llama-3-8B-Instruct',        'meta-llama/Meta-Llama-3-8B-Instruct',       'krutrim'),
  ('krutrim/meta-llama/Meta-Llama-3-70B',                'meta-llama/Meta-Llama-3-70B',               'krutrim');

-- ---------------------------------------------------------------------------------------------
-- Fallback chains. Position 0 = the model on its primary provider, then its other deployments,
-- then 1-3 alternatives from other providers: same swap band / tier where possible, vision-capable
-- alternatives first for vision models, and a region mix so region-pinned keys keep a fallback
-- (every APAC model has at least one other-provider APAC alternative; mistral, the only EU
-- provider, chains to US and APAC). The gateway skips out-of-region, open-circuit and over-budget
-- entries, so a chain may legitimately cross regions.
-- ---------------------------------------------------------------------------------------------
INSERT INTO fallback_chains (model_id, position, target_model_id, target_provider) VALUES
  -- OpenAI
  ('gpt-4o', 0, 'gpt-4o',                   'openai'),
  ('gpt-4o', 1, 'claude-sonnet-4-20250514', 'anthropic'),
  ('gpt-4o', 2, 'gemini-2.5-pro',           'google'),
  ('gpt-4o', 3, 'qwen-vl-max',              'qwen'),
  -- exactly the 000 page's example
  ('gpt-4o-mini', 0, 'gpt-4o-mini',               'openai'),
  ('gpt-4o-mini', 1, 'claude-haiku-4-5-20251001', 'anthropic'),
  ('gpt-4o-mini', 2, 'gemini-2.5-flash',          'google'),
  ('o3', 0, 'o3',                     'openai'),
  ('o3', 1, 'claude-opus-4-20250514', 'anthropic'),
  ('o3', 2, 'gemini-2.5-pro',         'google'),
  ('o3', 3, 'deepseek-reasoner',      'deepseek'),
  ('o4-mini', 0, 'o4-mini',                   'openai'),
  ('o4-mini', 1, 'gemini-2.5-flash',          'google'),
  ('o4-mini', 2, 'claude-haiku-4-5-20251001', 'anthropic'),
  ('o4-mini', 3, 'deepseek-reasoner',         'deepseek'),
  ('gpt-5-nano', 0, 'gpt-5-nano',              'openai'),
  ('gpt-5-nano', 1, 'gemini-2.5-flash',        'google'),
  ('gpt-5-nano', 2, 'qwen-plus',               'qwen'),
  ('gpt-5-nano', 3, 'llama-3.3-70b-versatile', 'groq'),

  -- Anthropic
  ('claude-opus-4-20250514', 0, 'claude-opus-4-20250514', 'anthropic'),
  ('claude-opus-4-20250514', 1, 'o3',                     'openai'),
  ('claude-opus-4-20250514', 2, 'gemini-2.5-pro',         'google'),
  ('claude-opus-4-20250514', 3, 'grok-4',                 'xai'),
  ('claude-sonnet-4-20250514', 0, 'claude-sonnet-4-20250514', 'anthropic'),
  ('claude-sonnet-4-20250514', 1, 'gpt-4o',                   'openai'),
  ('claude-sonnet-4-20250514', 2, 'gemini-2.5-pro',           'google'),
  ('claude-sonnet-4-20250514', 3, 'mistral-large-2407',       'mistral'),
  ('claude-haiku-4-5-20251001', 0, 'claude-haiku-4-5-20251001', 'anthropic'),
  ('claude-haiku-4-5-20251001', 1, 'gpt-4o-mini',               'openai'),
  ('claude-haiku-4-5-20251001', 2, 'gemini-2.5-flash',          'google'),
  ('claude-haiku-4-5-20251001', 3, 'qwen-plus',                 'qwen'),
  ('claude-sonnet-4-6', 0, 'claude-sonnet-4-6', 'anthropic'),
  ('claude-sonnet-4-6', 1, 'gpt-4o',            'openai'),
  ('claude-sonnet-4-6', 2, 'gemini-2.5-pro',    'google'),
  ('claude-sonnet-4-6', 3, 'qwen-vl-max',       'qwen'),
  ('claude-sonnet-5', 0, 'claude-sonnet-5', 'anthropic'),
  ('claude-sonnet-5', 1, 'gemini-2.5-pro',  'google'),
  ('claude-sonnet-5', 2, 'gpt-4o',          'openai'),
  ('claude-sonnet-5', 3, 'grok-4',          'xai'),

  -- Google
  ('gemini-2.5-pro', 0, 'gemini-2.5-pro',    'google'),
  ('gemini-2.5-pro', 1, 'claude-sonnet-4-6', 'anthropic'),
  ('gemini-2.5-pro', 2, 'gpt-4o',            'openai'),
  ('gemini-2.5-pro', 3, 'qwen-vl-max',       'qwen'),
  ('gemini-2.5-flash', 0, 'gemini-2.5-flash',          'google'),
  ('gemini-2.5-flash', 1, 'gpt-4o-mini',               'openai'),
  ('gemini-2.5-flash', 2, 'claude-haiku-4-5-20251001', 'anthropic'),
  ('gemini-2.5-flash', 3, 'doubao-seed-2.0-lite',      'doubao'),

  -- Groq (multi-provider open-weight models: own deployments first)
  ('llama-3.3-70b-versatile', 0, 'llama-3.3-70b-versatile',     'groq'),
  ('llama-3.3-70b-versatile', 1, 'llama-3.3-70b-versatile',     'together'),
  ('llama-3.3-70b-versatile', 2, 'llama-3.3-70b-versatile',     'fireworks'),
  ('llama-3.3-70b-versatile', 3, 'meta-llama/Meta-Llama-3-70B', 'krutrim'),
  ('llama-3.3-70b-versatile', 4, 'deepseek-chat',               'deepseek'),
  ('llama-4-maverick', 0, 'llama-4-maverick',                          'groq'),
  ('llama-4-maverick', 1, 'llama-4-maverick',                          'together'),
  ('llama-4-maverick', 2, 'llama-4-maverick',                          'fireworks'),
  ('llama-4-maverick', 3, 'meta-llama/Llama-4-Scout-17B-16E-Instruct', 'krutrim'),
  ('llama-4-maverick', 4, 'deepseek-chat',                             'deepseek'),

  -- Together
  ('qwen2.5-72b-instruct', 0, 'qwen2.5-72b-instruct', 'together'),
  ('qwen2.5-72b-instruct', 1, 'qwen2.5-72b-instruct', 'qwen'),
  ('qwen2.5-72b-instruct', 2, 'deepseek-chat',        'deepseek'),
  ('qwen2.5-72b-instruct', 3, 'llama-4-maverick',     'groq'),

  -- Mistral (EU): the only EU provider, so alternatives are US and APAC
  ('mistral-large-2407', 0, 'mistral-large-2407',       'mistral'),
  ('mistral-large-2407', 1, 'gpt-4o',                   'openai'),
  ('mistral-large-2407', 2, 'claude-sonnet-4-20250514', 'anthropic'),
  ('mistral-large-2407', 3, 'qwen-max',                 'qwen'),
  ('codestral-2405', 0, 'codestral-2405',   'mistral'),
  ('codestral-2405', 1, 'grok-code-fast-1', 'xai'),
  ('codestral-2405', 2, 'deepseek-chat',    'deepseek'),
  ('codestral-2405', 3, 'qwen-plus',        'qwen'),

  -- DeepSeek
  ('deepseek-chat', 0, 'deepseek-chat',        'deepseek'),
  ('deepseek-chat', 1, 'llama-4-maverick',     'groq'),
  ('deepseek-chat', 2, 'qwen2.5-72b-instruct', 'together'),
  ('deepseek-chat', 3, 'sarvam-105b',          'sarvam'),
  ('deepseek-reasoner', 0, 'deepseek-reasoner', 'deepseek'),
  ('deepseek-reasoner', 1, 'o4-mini',           'openai'),
  ('deepseek-reasoner', 2, 'sarvam-105b',       'sarvam'),
  ('deepseek-v4-flash', 0, 'deepseek-v4-flash', 'deepseek'),
  ('deepseek-v4-flash', 1, 'llama-4-maverick',  'groq'),
  ('deepseek-v4-flash', 2, 'sarvam-105b',       'sarvam'),
  ('deepseek-v4-flash', 3, 'glm-4-plus',        'glm'),

  -- Fireworks
  ('firefunction-v2', 0, 'firefunction-v2',         'fireworks'),
  ('firefunction-v2', 1, 'llama-3.3-70b-versatile', 'groq'),
  ('firefunction-v2', 2, 'gpt-4o-mini',             'openai'),

  -- xAI
  ('grok-4-3', 0, 'grok-4-3',          'xai'),
  ('grok-4-3', 1, 'gemini-2.5-pro',    'google'),
  ('grok-4-3', 2, 'claude-sonnet-4-6', 'anthropic'),
  ('grok-4-3', 3, 'qwen-max',          'qwen'),
  ('grok-4', 0, 'grok-4',              'xai'),
  ('grok-4', 1, 'claude-sonnet-4-6',   'anthropic'),
  ('grok-4', 2, 'gemini-2.5-pro',      'google'),
  ('grok-4', 3, 'doubao-seed-2.1-pro', 'doubao'),
  ('grok-code-fast-1', 0, 'grok-code-fast-1', 'xai'),
  ('grok-code-fast-1', 1, 'gpt-4o-mini',      'openai'),
  ('grok-code-fast-1', 2, 'codestral-2405',   'mistral'),
  ('grok-code-fast-1', 3, 'qwen-plus',        'qwen'),

  -- Qwen (APAC)
  ('qwen2.5-vl-72b-instruct', 0, 'qwen2.5-vl-72b-instruct', 'qwen'),
  ('qwen2.5-vl-72b-instruct', 1, 'glm-4v-plus',             'glm'),
  ('qwen2.5-vl-72b-instruct', 2, 'doubao-vision-pro-32k',   'doubao'),
  ('qwen2.5-vl-72b-instruct', 3, 'gpt-4o',                  'openai'),
  ('qwen-vl-max', 0, 'qwen-vl-max',           'qwen'),
  ('qwen-vl-max', 1, 'doubao-vision-pro-32k', 'doubao'),
  ('qwen-vl-max', 2, 'gpt-4o',                'openai'),
  ('qwen-vl-max', 3, 'gemini-2.5-pro',        'google'),
  ('qwen-max', 0, 'qwen-max',            'qwen'),
  ('qwen-max', 1, 'doubao-seed-2.1-pro', 'doubao'),
  ('qwen-max', 2, 'glm-4-plus',          'glm'),
  ('qwen-max', 3, 'gpt-4o',              'openai'),
  ('qwen-plus', 0, 'qwen-plus',            'qwen'),
  ('qwen-plus', 1, 'doubao-seed-2.0-lite', 'doubao'),
  ('qwen-plus', 2, 'glm-4-flash',          'glm'),
  ('qwen-plus', 3, 'gpt-4o-mini',          'openai'),

  -- Kimi (APAC); moonshot-v1-128k's alternatives all take >= 128K of context
  ('moonshot-v1-8k-vision-preview', 0, 'moonshot-v1-8k-vision-preview', 'kimi'),
  ('moonshot-v1-8k-vision-preview', 1, 'glm-4v-plus',                   'glm'),
  ('moonshot-v1-8k-vision-preview', 2, 'qwen2.5-vl-72b-instruct',       'qwen'),
  ('moonshot-v1-8k-vision-preview', 3, 'gpt-4o-mini',                   'openai'),
  ('moonshot-v1-32k', 0, 'moonshot-v1-32k',       'kimi'),
  ('moonshot-v1-32k', 1, 'glm-4-plus',            'glm'),
  ('moonshot-v1-32k', 2, 'doubao-seed-2.1-turbo', 'doubao'),
  ('moonshot-v1-32k', 3, 'deepseek-chat',         'deepseek'),
  ('moonshot-v1-128k', 0, 'moonshot-v1-128k',      'kimi'),
  ('moonshot-v1-128k', 1, 'doubao-seed-2.1-turbo', 'doubao'),
  ('moonshot-v1-128k', 2, 'glm-4-plus',            'glm'),
  ('moonshot-v1-128k', 3, 'deepseek-chat',         'deepseek'),
  ('moonshot-v1-8k', 0, 'moonshot-v1-8k', 'kimi'),
  ('moonshot-v1-8k', 1, 'glm-4-flash',    'glm'),
  ('moonshot-v1-8k', 2, 'qwen-plus',      'qwen'),
  ('moonshot-v1-8k', 3, 'gpt-4o-mini',    'openai'),

  -- GLM (APAC)
  ('glm-4-plus', 0, 'glm-4-plus',          'glm'),
  ('glm-4-plus', 1, 'qwen-max',            'qwen'),
  ('glm-4-plus', 2, 'doubao-seed-2.0-pro', 'doubao'),
  ('glm-4-plus', 3, 'deepseek-chat',       'deepseek'),
  ('glm-4v-plus', 0, 'glm-4v-plus',             'glm'),
  ('glm-4v-plus', 1, 'qwen2.5-vl-72b-instruct', 'qwen'),
  ('glm-4v-plus', 2, 'doubao-vision-pro-32k',   'doubao'),
  ('glm-4v-plus', 3, 'gpt-4o',                  'openai'),
  ('glm-4-flash', 0, 'glm-4-flash',          'glm'),
  ('glm-4-flash', 1, 'doubao-seed-2.0-mini', 'doubao'),
  ('glm-4-flash', 2, 'qwen-plus',            'qwen'),
  ('glm-4-flash', 3, 'gpt-5-nano',           'openai'),

  -- Doubao (APAC)
  ('doubao-vision-pro-32k', 0, 'doubao-vision-pro-32k',   'doubao'),
  ('doubao-vision-pro-32k', 1, 'qwen2.5-vl-72b-instruct', 'qwen'),
  ('doubao-vision-pro-32k', 2, 'glm-4v-plus',             'glm'),
  ('doubao-vision-pro-32k', 3, 'gpt-4o',                  'openai'),
  ('doubao-seed-2.1-turbo', 0, 'doubao-seed-2.1-turbo', 'doubao'),
  ('doubao-seed-2.1-turbo', 1, 'glm-4-plus',            'glm'),
  ('doubao-seed-2.1-turbo', 2, 'sarvam-105b',           'sarvam'),
  ('doubao-seed-2.1-turbo', 3, 'deepseek-chat',         'deepseek'),
  ('doubao-seed-2.0-pro', 0, 'doubao-seed-2.0-pro', 'doubao'),
  ('doubao-seed-2.0-pro', 1, 'qwen-max',            'qwen'),
  ('doubao-seed-2.0-pro', 2, 'glm-4-plus',          'glm'),
  ('doubao-seed-2.0-pro', 3, 'deepseek-chat',       'deepseek'),
  ('doubao-seed-2.1-pro', 0, 'doubao-seed-2.1-pro', 'doubao'),
  ('doubao-seed-2.1-pro', 1, 'qwen-max',            'qwen'),
  ('doubao-seed-2.1-pro', 2, 'sarvam-105b',         'sarvam'),
  ('doubao-seed-2.1-pro', 3, 'gpt-4o',              'openai'),
  ('doubao-seed-2.0-mini', 0, 'doubao-seed-2.0-mini', 'doubao'),
  ('doubao-seed-2.0-mini', 1, 'glm-4-flash',          'glm'),
  ('doubao-seed-2.0-mini', 2, 'qwen-plus',            'qwen'),
  ('doubao-seed-2.0-mini', 3, 'gpt-5-nano',           'openai'),
  ('doubao-seed-2.0-lite', 0, 'doubao-seed-2.0-lite', 'doubao'),
  ('doubao-seed-2.0-lite', 1, 'qwen-plus',            'qwen'),
  ('doubao-seed-2.0-lite', 2, 'glm-4-flash',          'glm'),
  ('doubao-seed-2.0-lite', 3, 'gpt-4o-mini',          'openai'),

  -- Sarvam (APAC, India): Indian alternatives first (krutrim), then other APAC / US
  ('sarvam-30b', 0, 'sarvam-30b',                                'sarvam'),
  ('sarvam-30b', 1, 'meta-llama/Llama-4-Scout-17B-16E-Instruct', 'krutrim'),
  ('sarvam-30b', 2, 'glm-4-plus',                                'glm'),
  ('sarvam-30b', 3, 'deepseek-v4-flash',                         'deepseek'),
  ('sarvam-105b', 0, 'sarvam-105b',                               'sarvam'),
  ('sarvam-105b', 1, 'meta-llama/Llama-4-Scout-17B-16E-Instruct', 'krutrim'),
  ('sarvam-105b', 2, 'doubao-seed-2.0-pro',                       'doubao'),
  ('sarvam-105b', 3, 'deepseek-chat',                             'deepseek'),
  ('mistral-saba-24b', 0, 'mistral-saba-24b',   'sarvam'),
  ('mistral-saba-24b', 1, 'krutrim-spectre-v2', 'krutrim'),
  ('mistral-saba-24b', 2, 'mistral-large-2407', 'mistral'),
  ('mistral-saba-24b', 3, 'deepseek-chat',      'deepseek'),

  -- Krutrim (APAC, India)
  ('meta-llama/Llama-4-Scout-17B-16E-Instruct', 0, 'meta-llama/Llama-4-Scout-17B-16E-Instruct', 'krutrim'),
  ('meta-llama/Llama-4-Scout-17B-16E-Instruct', 1, 'meta-llama/Llama-4-Scout-17B-16E-Instruct', 'groq'),
  ('meta-llama/Llama-4-Scout-17B-16E-Instruct', 2, 'meta-llama/Llama-4-Scout-17B-16E-Instruct', 'together'),
  ('meta-llama/Llama-4-Scout-17B-16E-Instruct', 3, 'sarvam-30b',                                'sarvam'),
  ('meta-llama/Llama-4-Scout-17B-16E-Instruct', 4, 'deepseek-v4-flash',                         'deepseek'),
  ('krutrim-spectre-v2', 0, 'krutrim-spectre-v2', 'krutrim'),
  ('krutrim-spectre-v2', 1, 'sarvam-30b',         'sarvam'),
  ('krutrim-spectre-v2', 2, 'mistral-saba-24b',   'sarvam'),
  ('krutrim-spectre-v2', 3, 'deepseek-chat',      'deepseek'),
  ('meta-llama/Meta-Llama-3-8B-Instruct', 0, 'meta-llama/Meta-Llama-3-8B-Instruct', 'krutrim'),
  ('meta-llama/Meta-Llama-3-8B-Instruct', 1, 'glm-4-flash',                         'glm'),
  ('meta-llama/Meta-Llama-3-8B-Instruct', 2, 'doubao-seed-2.0-mini',                'doubao'),
  ('meta-llama/Meta-Llama-3-8B-Instruct', 3, 'llama-3.3-70b-versatile',             'groq'),
  ('meta-llama/Meta-Llama-3-70B', 0, 'meta-llama/Meta-Llama-3-70B', 'krutrim'),
  ('meta-llama/Meta-Llama-3-70B', 1, 'llama-3.3-70b-versatile',     'groq'),
  ('meta-llama/Meta-Llama-3-70B', 2, 'qwen-plus',                   'qwen'),
  ('meta-llama/Meta-Llama-3-70B', 3, 'doubao-seed-2.0-lite',        'doubao');
