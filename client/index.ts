/** Client helpers for API servers in front of fhirgate: cached client_credentials and on-behalf-of tokens. */
export { TokenCache } from './token-cache';
export type { TokenCacheOptions, TokenResponse } from './token-cache';
export { clientCredentialsTokens, onBehalfOfTokens, TokenRequestError } from './tokens';
export type { ClientCredentialsOptions, OnBehalfOfOptions, TokenClientOptions } from './tokens';
