// The validated, complete configuration the rest of the program reads (SPEC §4).
// The raw YAML shape (all optional, with defaults) lives in schema.ts; this is what it becomes.
// All durations are milliseconds.

import type { DeliveryRules } from '../monitor/delivery.js';

export type ReconnectMode = 'link' | 'qr' | 'off';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** The `defaults` cascade resolved for one account or device. */
export interface Policy {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
  readonly successThreshold: number;
  /** 0 turns reminders off. */
  readonly repeatIntervalMs: number;
  readonly sendResolved: boolean;
  readonly flapThreshold: number;
  readonly flapWindowMs: number;
  readonly reconnect: ReconnectMode;
  /** Delivery health (SPEC §10): `delivery:` resolved key by key through the cascade. */
  readonly delivery: DeliveryRules;
}

export interface DeviceConfig {
  /** Digits only (a leading `+` stripped), unique within its account. */
  readonly number: string;
  /** Defaults to the number when not configured. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Overrides routing when set. */
  readonly channels: readonly string[] | null;
  readonly policy: Policy;
}

export interface AccountConfig {
  readonly name: string;
  /** Without trailing slash, e.g. `https://acme.whatsgate.net/api` or `http://127.0.0.1:8080/api`. */
  readonly baseUrl: string;
  readonly token: string;
  readonly concurrency: number;
  /** API calls this monitor may spend in any 60 s window (`30/min` → 30). */
  readonly rateLimitPerMinute: number;
  readonly policy: Policy;
  readonly devices: readonly DeviceConfig[];
}

// Each channel type's resolved config lives in its folder (src/notify/channels/<type>/config.ts).
export type { ChannelConfig, ChannelType } from '../notify/channels/index.js';
export type { AlertmanagerChannelConfig } from '../notify/channels/alertmanager/config.js';
export type { EmailChannelConfig, SmtpSettings } from '../notify/channels/email/config.js';
export type { WebhookChannelConfig } from '../notify/channels/webhook/config.js';
import type { ChannelConfig } from '../notify/channels/index.js';

export interface RouteConfig {
  readonly match: Readonly<Record<string, string>>;
  readonly channels: readonly string[];
}

export interface MaintenanceWindow {
  /** `all` or device numbers (normalised). */
  readonly devices: 'all' | readonly string[];
  /** node-cron expression of the window's start. */
  readonly schedule: string;
  readonly durationMs: number;
}

/** Where the state lives (`store`): SQLite in `state_dir`, or a PostgreSQL database replicas share. */
import type { StoreLocation } from '../store/location.js';
export type { StoreLocation };

/** `ha`: the lease replicas of one PostgreSQL store compete for; the holder renews it every leaseMs / 3. */
export interface HaConfig {
  readonly leaseMs: number;
}

export interface Config {
  readonly stateDir: string;
  /**
   * `store`: `sqlite` (monitor.db in stateDir) or a `postgres://` URL. The URL holds a credential:
   * show it with describeStore and hide it in text with storeSecrets (config/store.ts).
   */
  readonly store: StoreLocation;
  /** Null with SQLite (one process); with PostgreSQL, `ha.lease` (default 15 s). */
  readonly ha: HaConfig | null;
  readonly listen: { readonly host: string; readonly port: number };
  readonly timezone: string;
  readonly schedule: string;
  readonly publicUrl: string | null;
  readonly logLevel: LogLevel;
  readonly defaults: Policy;
  readonly accounts: readonly AccountConfig[];
  readonly notify: {
    /** `group_wait` (SPEC §8): the first held event of a channel waits this long for company. */
    readonly groupWaitMs: number;
    /** `group_interval`: the least time between two grouped messages of a channel. */
    readonly groupIntervalMs: number;
    readonly default: readonly string[];
    readonly routes: readonly RouteConfig[];
    readonly channels: Readonly<Record<string, ChannelConfig>>;
  };
  readonly audit: {
    readonly schedule: string | null;
    readonly channels: readonly string[];
    readonly staleAfterMs: number;
  };
  readonly maintenance: readonly MaintenanceWindow[];
  readonly retentionMs: number;
  readonly web: { readonly basicAuth: { readonly user: string; readonly passwordHash: string } | null };
  /**
   * The file this config was read from, absolute, when it is not the default path: commands
   * printed in messages (`whatsgate-monitor connect …`) add `--config` with it. Set by the
   * command that loaded the config, not by the file.
   */
  readonly configFile?: string;
}
