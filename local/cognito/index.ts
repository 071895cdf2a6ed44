/** The local Cognito: cognito-local plus a Cognito-shaped client_credentials endpoint. */
export { startLocalCognito } from './local-cognito';
export type { LocalCognito, LocalCognitoOptions } from './local-cognito';
export { COGNITO_GROUPS, PASSWORD_POLICY, WEB_CLIENT_NAME } from './provision';
export type { CognitoGroup, MachineClientSpec, UserSpec } from './provision';
export { startTokenEndpoint } from './token-endpoint';
export type { TokenEndpoint, TokenEndpointOptions } from './token-endpoint';
