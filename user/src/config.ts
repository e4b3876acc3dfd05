import { t } from 'elysia'
import { BaseConfig, loadConfig } from '@chat/common/config'
import { SERVICE_DEFAULTS } from '@chat/common/ports'

export const UserConfig = t.Composite([
  BaseConfig,
  t.Object({
    PORT: t.Number({ default: SERVICE_DEFAULTS.user.port }),
    /**
     * Registration attempts per client IP in a window, whatever their outcome (a body the
     * schema refuses costs nothing and is not counted); more answer 429 with Retry-After.
     */
    REGISTRATION_MAX_PER_IP: t.Number({ minimum: 1, default: 20 }),
    REGISTRATION_WINDOW_SECONDS: t.Number({ minimum: 1, default: 3600 }),
    /**
     * Attempts to change one account's email in a window, whatever their outcome: each says
     * whether an address is registered (409) and may mail it, so they are not free.
     */
    EMAIL_CHANGE_MAX_PER_USER: t.Number({ minimum: 1, default: 5 }),
    EMAIL_CHANGE_WINDOW_SECONDS: t.Number({ minimum: 1, default: 3600 }),
    SEARCH_DEFAULT_LIMIT: t.Number({ minimum: 1, default: 20 }),
    SEARCH_MAX_LIMIT: t.Number({ minimum: 1, default: 100 }),
    /** User searches per user per minute: enough for anyone looking for people, not for paging through the whole directory. */
    SEARCH_MAX_PER_MINUTE_PER_USER: t.Number({ minimum: 1, default: 60 }),
  }),
])
export type UserConfig = typeof UserConfig.static

export const loadUserConfig = () => loadConfig(UserConfig)
