// The config module's public surface; other modules import from here.

export type * from './types.js';
export { ConfigError, formatIssue, formatPath, type ConfigIssue } from '../fields/errors.js';
export { loadConfig, parseConfig, type ParseOptions } from './load.js';
export { formatDuration, formatRate, parseDuration, parseRate } from '../fields/duration.js';
export {
  formatListen,
  isLoopbackHost,
  normalizeDeviceNumber,
  parseListen,
  type ListenAddress,
} from '../fields/fields.js';
export { DEFAULTS, DEFAULT_POLICY, POLICY_DEFAULTS } from './defaults.js';
export { rawConfigSchema, type RawConfig } from './schema.js';
export { accountBudget, configWarnings, deviceCount, summarizeConfig } from './summary.js';
export { MAX_LEASE_MS, MIN_LEASE_MS, describeStore, storeSecrets } from './store.js';
