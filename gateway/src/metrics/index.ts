export { GatewayMetrics, METRIC_PREFIX, BREAKER_STATE_VALUE, ALEX_OPERATIONS, type GatewayMetricsOptions, type AlexStatsSource } from './metrics';
export { loadMetricsConfig, startMetricsServer, METRICS_DEFAULTS, type MetricsConfig, type RunningMetricsServer } from './server';
