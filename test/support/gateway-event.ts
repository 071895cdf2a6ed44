/**
 * An API Gateway REST proxy event as a Lambda entry receives it from the stage: the route's
 * resource template, the concrete path, `{proxy+}`'s value, and the execute-api request context
 * of the `prod` stage. `extra` overrides any field (query, body, an authorizer context).
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';

export interface GatewayEventOptions extends Partial<APIGatewayProxyEvent> {
  /** The `{proxy+}` path parameter. @default none */
  readonly proxy?: string;
}

export function gatewayEvent(method: string, resource: string, options: GatewayEventOptions = {}): APIGatewayProxyEvent {
  const { proxy, ...extra } = options;
  return {
    httpMethod: method,
    resource,
    path: resource,
    pathParameters: proxy === undefined ? null : { proxy },
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    body: null,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: { domainName: 'abc123.execute-api.us-east-1.amazonaws.com', stage: 'prod', requestId: 'r-1' } as APIGatewayProxyEvent['requestContext'],
    ...extra,
  };
}
