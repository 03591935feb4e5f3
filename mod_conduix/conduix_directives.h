/* Every mod_conduix directive name, in one place. docs/directives.md documents each
 * of them; tests/integration/test_directives.py checks that the two agree. */
#ifndef CONDUIX_DIRECTIVES_H
#define CONDUIX_DIRECTIVES_H

#define CONDUIX_ENGINE             "ConduixEngine"
#define CONDUIX_DATABASE           "ConduixDatabase"
#define CONDUIX_PROVIDER           "ConduixProvider"
#define CONDUIX_MAX_BODY_SIZE      "ConduixMaxBodySize"
#define CONDUIX_UPSTREAM_TIMEOUT   "ConduixUpstreamTimeout"
#define CONDUIX_CONNECT_TIMEOUT    "ConduixConnectTimeout"
#define CONDUIX_STREAM_SLICE       "ConduixStreamSlice"
#define CONDUIX_KEY_CACHE_TTL      "ConduixKeyCacheTTL"
#define CONDUIX_CATALOG_REFRESH    "ConduixCatalogRefresh"
#define CONDUIX_DB_POOL_MAX        "ConduixDBPoolMax"
#define CONDUIX_SPOOL_DIR          "ConduixSpoolDir"
#define CONDUIX_BYO_ALLOW_NETWORKS "ConduixByoAllowNetworks"
#define CONDUIX_SHARED_STATE       "ConduixSharedState"
#define CONDUIX_SHARED_STATE_SIZE  "ConduixSharedStateSize"
#define CONDUIX_BREAKER_THRESHOLD  "ConduixBreakerThreshold"
#define CONDUIX_BREAKER_OPEN_SECONDS "ConduixBreakerOpenSeconds"
#define CONDUIX_CACHE              "ConduixCache"
#define CONDUIX_CACHE_TTL          "ConduixCacheTTL"
#define CONDUIX_CACHE_MAX_ENTRY_SIZE "ConduixCacheMaxEntrySize"
#define CONDUIX_BUDGET_ALERT       "ConduixBudgetAlert"
#define CONDUIX_JWT_SECRET_FILE    "ConduixJWTSecretFile"
#define CONDUIX_SECRET_KEY_FILE    "ConduixSecretKeyFile"

#endif
