/**
 * A real DynamoDB-compatible server (dynalite, in memory) on a loopback port, with the links
 * table created. `stop()` closes the port for real; `restart()` brings it back on the same port
 * (with an empty store: callers re-seed).
 */
import { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
// dynalite ships no types; its factory returns a node http.Server.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite: (options: { createTableMs?: number; deleteTableMs?: number }) => Server = require('dynalite');

export interface TestDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly tableName: string;
  putLink(item: { sub: string; role: string; fhirUser?: string; patients?: string[] }): Promise<void>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export const LINKS_TABLE = 'fhirgate-links';

/** Fake static credentials: dynalite ignores them, the SDK requires some. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export async function startDynalite(): Promise<TestDynamo> {
  let server = dynalite({ createTableMs: 0, deleteTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const createTable = () =>
    client.send(
      new CreateTableCommand({
        TableName: LINKS_TABLE,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'sub', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'sub', KeyType: 'HASH' }],
      }),
    );
  await createTable();
  const close = () => new Promise<void>((resolve) => {
    server.close(() => resolve());
    (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  });
  return {
    endpoint,
    client,
    tableName: LINKS_TABLE,
    async putLink(item) {
      await client.send(
        new PutItemCommand({
          TableName: LINKS_TABLE,
          Item: {
            sub: { S: item.sub },
            role: { S: item.role },
            ...(item.fhirUser ? { fhirUser: { S: item.fhirUser } } : {}),
            patients: { L: (item.patients ?? []).map((p) => ({ S: p })) },
          },
        }),
      );
    },
    stop: close,
    async restart() {
      server = dynalite({ createTableMs: 0, deleteTableMs: 0 });
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      await createTable();
    },
    close,
  };
}
