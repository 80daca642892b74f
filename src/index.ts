// The package's public surface: the factory, the secret generator, the catalogues and the public types.
export { createUserDefinedApis, type UserDefinedApis } from './plugin';
export { generateSecret } from './security/secrets';
export { Permissions, ALL_PERMISSIONS, type Permission } from './permissions';
export {
  ErrorReasons,
  ErrorCodes,
  ENDPOINT_ERROR_TITLE,
  type ErrorReason,
  type ErrorCodeName,
  type AdminErrorItem,
} from './errors';
export { OptionsError } from './options';
export { RegistrationError } from './actions/registry';
export { createRedisRateLimitStore, type RedisClientLike, type RedisRateLimitStoreOptions } from './endpoint/redis-rate-limit-store';
export { MemorySlidingWindow as MemoryRateLimitStore, type RateLimitStore } from './endpoint/sliding-window';
export type {
  CounterLike,
  GaugeLike,
  HistogramConfigurationLike,
  HistogramLike,
  MetricConfigurationLike,
  MetricLabelsLike,
  PromClientLike,
  RegistryLike,
} from './metrics/prom-client-like';
export type { AuthFailureReason } from './metrics/endpoint-metrics';
export type {
  ActionContext,
  ActionHandler,
  ActionInfo,
  HandlerInput,
  HandlerOutput,
  ProcedureHandler,
  ProcedureOptions,
  QueryParameters,
  RequestMethod,
} from './actions/types';
export type {
  ActionMeta,
  ActionType,
  AdminUser,
  ApiDefinition,
  ApiToken,
  ApiTokenWithSecret,
  ChangeAction,
  ChangeEvent,
  Logger,
  MetricsOptions,
  ObjectType,
  Page,
  RateLimit,
  UserDefinedApisOptions,
} from './types';
