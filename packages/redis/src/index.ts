export {
  type RedisClientLike,
  type RedisStore,
  type RedisStoreOptions,
  type RedisSubscriberLike,
  redisStore,
} from './redis-store.ts';
