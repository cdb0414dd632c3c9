export { createNotifier, notifierTopics, type Notifier, type NotifierDeps } from './app';
export { loadConfig, notifierEnv, type NotifierConfig } from './config';
export { buildPayload, serializePayload, type WebhookPayload } from './domain/payload';
export { generateSecret, sign, signedHeaders, SECRET_PREFIX } from './domain/signing';
export { PRODUCTION_RETRY_DELAYS_MS } from './domain/schedule';
export { REQUEST_TARGET, EMAIL_TARGET, type DeliveryState } from './domain/ports';
