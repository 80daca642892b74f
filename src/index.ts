// The package's public surface: the factory, the secret generator, the catalogues and the public types.
export { createUserDefinedApis, type UserDefinedApis } from './plugin';
export { generateSecret } from './domain/secrets';
export { Permissions, ALL_PERMISSIONS, type Permission } from './permissions';
export {
  ErrorReasons,
  ErrorCodes,
  ENDPOINT_ERROR_TITLE,
  type ErrorReason,
  type ErrorCodeName,
  type AdminErrorItem,
  type FailureBody,
  OptionsError,
  PepperMismatchError,
  RegistrationError,
  UserDefinedApisError,
} from './errors';
export {
  createRedisRateLimitStore,
  type RedisClientLike,
  type RedisRateLimitStoreOptions,
} from './endpoint/redis-rate-limit-store';
export {
  MemorySlidingWindow as MemoryRateLimitStore,
  type MemoryRateLimitStoreOptions,
} from './endpoint/sliding-window';
export type { RateLimitAnswer, RateLimitStore } from './domain/rate-limit-store';
export type {
  CounterLike,
  GaugeLike,
  HistogramConfigurationLike,
  HistogramLike,
  MetricConfigurationLike,
  MetricLabelsLike,
  PromClientLike,
  RegistryLike,
} from './domain/prom-client-like';
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
  ChangeHintClient,
  ChangeHintsOptions,
  ChangeHintSubscriber,
  ConsoleLikeLogger,
  Logger,
  LoggerStyle,
  LogLevel,
  MetricsOptions,
  ObjectType,
  Page,
  RateLimit,
  RequestTokenInfo,
  RequireTokenOptions,
  TokenRefusalHandler,
  UserDefinedApisOptions,
  VerifiedToken,
  VerifyFailureReason,
  VerifyOptions,
  VerifyResult,
} from './types';
