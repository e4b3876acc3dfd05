import { t } from 'elysia'
import { BaseConfig, loadConfig, PEER_URLS_PATTERN } from '@chat/common/config'
import { localServiceUrl, SERVICE_DEFAULTS } from '@chat/common/ports'

/** Postgres' built-in text-search configurations that stem (`simple` is always searched too, see search/language.ts). */
export const SEARCH_LANGUAGES = [
  'arabic', 'armenian', 'basque', 'catalan', 'danish', 'dutch', 'english', 'finnish', 'french', 'german', 'greek', 'hindi',
  'hungarian', 'indonesian', 'irish', 'italian', 'lithuanian', 'nepali', 'norwegian', 'portuguese', 'romanian', 'russian',
  'serbian', 'simple', 'spanish', 'swedish', 'tamil', 'turkish', 'yiddish',
] as const
export type SearchLanguage = (typeof SEARCH_LANGUAGES)[number]

export const ChatConfig = t.Composite([
  BaseConfig,
  t.Object({
    PORT: t.Number({ default: SERVICE_DEFAULTS.chat.port }),
    /**
     * A streaming replica of DATABASE_URL (a hot standby). When set, history, the events
     * route, `join{since}` replay and search read from it whenever it has caught up with
     * what the caller may have seen (see replica.ts); everything else, and every write,
     * stays on the primary. One server, not a load-balanced set: the check relies on the
     * replica's state only moving forward.
     */
    DATABASE_REPLICA_URL: t.Optional(t.String({ pattern: '^postgres(ql)?://' })),
    /**
     * Search reads the replica only while it lags by at most this (it cannot check a room's
     * seq as the room reads do): a message stored more recently than this may be missing
     * from results, never one stored earlier.
     */
    DATABASE_REPLICA_SEARCH_MAX_LAG_MS: t.Number({ minimum: 0, default: 1000 }),
    /** After a replica read failed (down, unreachable, cancelled), reads go to the primary this long before the replica is tried again. */
    DATABASE_REPLICA_RETRY_MS: t.Number({ minimum: 100, default: 5000 }),
    /**
     * Postgres' statement_timeout on the replica: a read stuck there (behind a lock that WAL
     * replay holds, an overloaded standby) is cancelled and answered from the primary. Twice
     * it is the backstop for a replica that answers nothing at all (see replica.ts).
     */
    DATABASE_REPLICA_STATEMENT_TIMEOUT_MS: t.Number({ minimum: 100, default: 2000 }),
    /** The user service's internal base URL (to check that a user exists before adding them); one per instance, comma-separated. */
    USER_INTERNAL_URL: t.String({ pattern: PEER_URLS_PATTERN, default: localServiceUrl('user') }),
    /** Comma-separated browser origins allowed to open /chat/ws; defaults to PUBLIC_ORIGIN. */
    WS_ALLOWED_ORIGINS: t.Optional(t.String()),
    /** Text frames above this close the socket with 1009. */
    WS_MAX_FRAME_BYTES: t.Number({ minimum: 1024, default: 1_048_576 }),
    /** A socket that has not authenticated within this time closes with 4408. */
    WS_AUTH_TIMEOUT_MS: t.Number({ minimum: 100, default: 5000 }),
    MESSAGE_MAX_CHARS: t.Number({ minimum: 1, default: 4000 }),
    /** Token bucket per socket for `send`: capacity, refilled per second. */
    SEND_BURST: t.Number({ minimum: 1, default: 600 }),
    SEND_PER_SECOND: t.Number({ minimum: 1, default: 300 }),
    /**
     * Token bucket per socket for `join` and `leave` together: each costs a Postgres read and
     * presence updates every instance hears of. The burst covers joining every room at once.
     */
    JOIN_BURST: t.Number({ minimum: 1, default: 200 }),
    JOIN_PER_SECOND: t.Number({ minimum: 1, default: 20 }),
    MAX_ROOMS_PER_SOCKET: t.Number({ minimum: 1, default: 100 }),
    /**
     * How often each instance asks Postgres, in one statement, whether the memberships of
     * its sockets' joined rooms still hold: the latest a membership whose notice was lost
     * stops reaching a socket (the notice itself takes well under a second).
     */
    MEMBERSHIP_RECHECK_INTERVAL_MS: t.Number({ minimum: 100, default: 10_000 }),
    MAX_SOCKETS_PER_USER: t.Number({ minimum: 1, default: 20 }),
    /** Bad frames tolerated per minute before closing with 4400. */
    MAX_BAD_FRAMES_PER_MINUTE: t.Number({ minimum: 1, default: 10 }),
    /** Bytes queued for a socket that does not read before it is dropped (slow reader). */
    WS_BACKPRESSURE_LIMIT_BYTES: t.Number({ minimum: 65_536, default: 4_194_304 }),
    /** Messages stored per database round trip when many arrive at once. */
    STORE_BATCH_MAX: t.Number({ minimum: 1, default: 500 }),
    /**
     * Sends waiting for the store at most; over it a send is answered UNAVAILABLE at once, so
     * a slow or absent database cannot grow the queue (and the memory) without bound.
     */
    STORE_QUEUE_MAX: t.Number({ minimum: 1, default: 10_000 }),
    /**
     * Postgres' statement_timeout for the store's statements: a statement still running then
     * (a lock held by a hung transaction, an overloaded server) is cancelled by Postgres itself.
     */
    STORE_STATEMENT_TIMEOUT_MS: t.Number({ minimum: 100, default: 5000 }),
    /**
     * After a batch failed, sends are answered UNAVAILABLE at once for this long; then one
     * batch probes the database again. Short: clients retry, and an outage ends when it ends.
     */
    STORE_FAILURE_BACKOFF_MS: t.Number({ minimum: 0, default: 1000 }),
    /** Presence entries of a crashed instance expire after this long. */
    PRESENCE_TTL_SECONDS: t.Number({ minimum: 5, default: 30 }),
    ROOM_PAGE_DEFAULT: t.Number({ minimum: 1, default: 50 }),
    /**
     * `unread` in the caller's room list looks at most this many messages after the read
     * marker, so a room with a huge backlog costs the list no more than a small one (the
     * count is exact while fewer are past the marker, a lower bound after).
     */
    UNREAD_COUNT_MAX: t.Number({ minimum: 1, default: 1000 }),
    HISTORY_PAGE_DEFAULT: t.Number({ minimum: 1, default: 50 }),
    HISTORY_PAGE_MAX: t.Number({ minimum: 1, default: 100 }),
    /** A room's topic at most (characters); set by owners and admins. */
    ROOM_TOPIC_MAX_CHARS: t.Number({ minimum: 1, default: 500 }),
    /** Member-list page size (`GET /chat/rooms/:id/members`); larger `limit`s are clamped to MEMBER_PAGE_MAX. */
    MEMBER_PAGE_DEFAULT: t.Number({ minimum: 1, default: 100 }),
    MEMBER_PAGE_MAX: t.Number({ minimum: 1, default: 500 }),
    /** The reason given with a ban at most (characters). */
    BAN_REASON_MAX_CHARS: t.Number({ minimum: 1, default: 500 }),
    /** An invite without `expiresInSeconds` lasts this long (a day, as Discord's default is). */
    INVITE_DEFAULT_TTL_SECONDS: t.Number({ minimum: 1, default: 86_400 }),
    /** No invite lasts longer (a week): a leaked code stops working by itself. */
    INVITE_MAX_TTL_SECONDS: t.Number({ minimum: 1, default: 604_800 }),
    /** The largest `maxUses` an invite may have; without one it is unlimited until it expires. */
    INVITE_MAX_USES: t.Number({ minimum: 1, default: 1000 }),
    /** Unexpired invites per room at most, so nobody can fill the table (revoke by letting them expire). */
    INVITE_MAX_ACTIVE_PER_ROOM: t.Number({ minimum: 1, default: 100 }),
    /**
     * Invite accepts per user, and per client IP, per window, whatever their outcome: a code
     * is a guessable secret, so guessing must stay slow (22 random base64url characters make
     * it hopeless anyway).
     */
    INVITE_ACCEPT_MAX_PER_USER: t.Number({ minimum: 1, default: 20 }),
    INVITE_ACCEPT_MAX_PER_IP: t.Number({ minimum: 1, default: 100 }),
    INVITE_ACCEPT_WINDOW_SECONDS: t.Number({ minimum: 1, default: 60 }),
    /**
     * Read receipts reaching an instance are held this long per room and sent as one burst,
     * the newest marker per member only: at most 1000 / this bursts per second per room.
     */
    RECEIPT_FLUSH_MS: t.Number({ minimum: 10, default: 250 }),
    /** `GET /chat/rooms/:id/receipts` answers the most advanced markers, at most this many. */
    RECEIPTS_LIST_MAX: t.Number({ minimum: 1, default: 1000 }),
    /**
     * The language whose stemming search adds to exact word matches (`simple`: none). The
     * stored search vectors are rebuilt for it at start-up when it changes (a table rewrite).
     */
    SEARCH_LANGUAGE: t.Union(SEARCH_LANGUAGES.map((name) => t.Literal(name)), { default: 'english' }),
    /** A search text longer than this is refused (422): a long query costs index work per word. */
    SEARCH_QUERY_MAX_CHARS: t.Number({ minimum: 1, default: 200 }),
    SEARCH_PAGE_DEFAULT: t.Number({ minimum: 1, default: 20 }),
    SEARCH_PAGE_MAX: t.Number({ minimum: 1, default: 50 }),
    /**
     * A search running longer is cancelled and answered 503: a word in nearly every message
     * (or `-word`) can make Postgres walk a whole table.
     */
    SEARCH_STATEMENT_TIMEOUT_MS: t.Number({ minimum: 100, default: 2000 }),
    /** Connections to the primary that searches use, apart from the pool that stores messages; more searches at once wait. */
    SEARCH_POOL_SIZE: t.Number({ minimum: 1, maximum: 100, default: 3 }),
    /** Searches per user per minute; more answer 429 with Retry-After. */
    SEARCH_MAX_PER_MINUTE_PER_USER: t.Number({ minimum: 1, default: 30 }),
    /** `GET /chat/rooms/:id/events` page size when `limit` is absent, and its ceiling: a catching-up client wants big pages, a server bounded ones. */
    EVENTS_PAGE_DEFAULT: t.Number({ minimum: 1, default: 100 }),
    EVENTS_PAGE_MAX: t.Number({ minimum: 1, default: 500 }),
    /** Distinct emoji one message may carry (Discord's limit); more reactions with an existing emoji are always accepted. */
    REACTIONS_MAX_PER_MESSAGE: t.Number({ minimum: 1, default: 20 }),
    /**
     * Edits, deletions and reactions over REST per user in a fixed window: the REST
     * counterpart of the socket's send rate (which they count against in the contract), so
     * a script cannot flood a room's stream through the API instead of the socket.
     */
    MESSAGE_CHANGES_MAX: t.Number({ minimum: 1, default: 300 }),
    MESSAGE_CHANGES_WINDOW_SECONDS: t.Number({ minimum: 1, default: 10 }),
  }),
])
export type ChatConfig = typeof ChatConfig.static

export const loadChatConfig = () => loadConfig(ChatConfig)
