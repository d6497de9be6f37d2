export { Metrics, CHECK_DURATION_BUCKETS } from './metrics.js';
export type { CheckOutcome, MetricsOptions, NotificationOutcome } from './metrics.js';
export type {
  AccountMetricsView,
  ChannelPendingView,
  DeviceMetricsView,
  MetricsSource,
  StoreMetricsView,
} from './source.js';
export { PROMETHEUS_CONTENT_TYPE } from './exposition.js';
export type { ChunkSink, Exposition } from './exposition-stream.js';
