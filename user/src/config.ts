import { t } from 'elysia'
import { BaseConfig, loadConfig, PEER_URLS_PATTERN } from '@chat/common/config'
import { localServiceUrl, SERVICE_DEFAULTS } from '@chat/common/ports'

export const UserConfig = t.Composite([
  BaseConfig,
  t.Object({
    PORT: t.Number({ default: SERVICE_DEFAULTS.user.port }),
    /** The auth service's internal base URL (credentials live there); one per instance, comma-separated. */
    AUTH_INTERNAL_URL: t.String({ pattern: PEER_URLS_PATTERN, default: localServiceUrl('auth') }),
    SEARCH_DEFAULT_LIMIT: t.Number({ minimum: 1, default: 20 }),
    SEARCH_MAX_LIMIT: t.Number({ minimum: 1, default: 100 }),
  }),
])
export type UserConfig = typeof UserConfig.static

export const loadUserConfig = () => loadConfig(UserConfig)
