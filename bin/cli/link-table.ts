/**
 * The links table as an operator changes it. Items have the shape the authorizer reads
 * (functions/adapters/link-store.ts): `sub` S (key), `role` S, `fhirUser` S (optional),
 * `patients` L of S, `disabledAt` S (only while the user is disabled). Every read is validated
 * with the authorizer's own `parseLinkRecord`.
 *
 * Changes to an existing record are conditional on the record being what was read (optimistic
 * locking), so two operators editing one user's patients never silently lose an edit.
 */
import {
  AttributeValue,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { FhirgateError } from '../../functions/core/errors';
import { LinkRecord, parseLinkRecord } from '../../functions/core/principal';
import { CliError, failure, isUnreachable } from './errors';
import { linkItemValues } from '../../functions/adapters/link-store';

type Item = Record<string, AttributeValue>;

/** A link record as read; `invalid` says why the authorizer would refuse it. */
export type ReadLink = LinkRecord & { readonly invalid?: string };

/** A link record as stored, with the raw item it came from (for the conditional write). */
export interface StoredLink {
  readonly record: ReadLink;
  readonly item: Item;
}

/** A link record to write. */
export interface LinkValues {
  readonly sub: string;
  readonly role: string;
  readonly fhirUser?: string;
  readonly patients: readonly string[];
}

export class LinkTable {
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
    /** Appended when DynamoDB cannot be reached (`is the local stack running?`). */
    private readonly unreachableHint = '',
  ) {}

  /** The user's link record, or undefined when there is none. A malformed record is returned with `invalid` set. */
  async get(sub: string): Promise<StoredLink | undefined> {
    const out = await this.send('reading the link record', () => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { sub: { S: sub } }, ConsistentRead: true })));
    return out.Item ? { record: readLink(out.Item), item: out.Item } : undefined;
  }

  /** Write a new record; fails if the user already has one. */
  async create(values: LinkValues): Promise<void> {
    await this.send(
      'writing the link record',
      () => this.client.send(new PutItemCommand({ TableName: this.tableName, Item: toItem(values), ConditionExpression: 'attribute_not_exists(#sub)', ExpressionAttributeNames: { '#sub': 'sub' } })),
      'the user already has a link record',
    );
  }

  /**
   * Replace the record; `previous` is the record as read (undefined: there must be none).
   * Attributes the CLI does not manage are kept.
   */
  async replace(values: LinkValues, previous: StoredLink | undefined): Promise<void> {
    if (!previous) return this.create(values);
    const { role: _r, fhirUser: _f, patients: _p, ...others } = previous.item;
    await this.send(
      'writing the link record',
      () => this.client.send(new PutItemCommand({ TableName: this.tableName, Item: { ...others, ...toItem(values) }, ...unchangedSince(previous.item) })),
    );
  }

  /**
   * Mark the record disabled (`at`: an ISO time) or enabled again (`at` undefined), on condition
   * that it is still the record as read; every other attribute is kept.
   */
  async setDisabled(previous: StoredLink, at: string | undefined): Promise<void> {
    const { disabledAt: _d, ...others } = previous.item;
    const item = at === undefined ? others : { ...others, disabledAt: { S: at } };
    await this.send(at ? 'disabling the link record' : 'enabling the link record', () =>
      this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item, ...unchangedSince(previous.item) })),
    );
  }

  /** Put back a record exactly as it was read (a rollback); fails if one was written meanwhile. */
  async restore(previous: StoredLink): Promise<void> {
    await this.send(
      'restoring the link record',
      () => this.client.send(new PutItemCommand({ TableName: this.tableName, Item: previous.item, ConditionExpression: 'attribute_not_exists(#sub)', ExpressionAttributeNames: { '#sub': 'sub' } })),
      'a new link record was written meanwhile',
    );
  }

  /** Delete the record; returns what was deleted, or undefined when there was none. */
  async delete(sub: string): Promise<ReadLink | undefined> {
    const out = await this.send('deleting the link record', () => this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: { sub: { S: sub } }, ReturnValues: 'ALL_OLD' })));
    return out.Attributes ? readLink(out.Attributes) : undefined;
  }

  /** Every record (a full scan: fine for an admin tool, paged by DynamoDB). */
  async list(): Promise<ReadLink[]> {
    const records: ReadLink[] = [];
    let start: Item | undefined;
    do {
      const out = await this.send('listing the links table', () => this.client.send(new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: start })));
      for (const item of out.Items ?? []) records.push(readLink(item));
      start = out.LastEvaluatedKey;
    } while (start);
    return records.sort((a, b) => a.sub.localeCompare(b.sub));
  }

  private async send<T>(doing: string, call: () => Promise<T>, conflict = 'the link record changed meanwhile (someone else edited it); run the command again'): Promise<T> {
    try {
      return await call();
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      if (isUnreachable(err)) throw new CliError(`${doing} failed: cannot reach DynamoDB${this.unreachableHint}`);
      if (name === 'ResourceNotFoundException') throw new CliError(`${doing} failed: links table ${this.tableName} not found`);
      if (name === 'ConditionalCheckFailedException') throw new CliError(`${doing} failed: ${conflict}`);
      throw failure(doing, err);
    }
  }
}

/** Condition: role, fhirUser, patients and the disabled marker are exactly as read (an edit never re-enables a user disabled meanwhile). */
function unchangedSince(item: Item): { ConditionExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues?: Item } {
  const names: Record<string, string> = { '#sub': 'sub' };
  const values: Item = {};
  const parts = ['attribute_exists(#sub)'];
  for (const attr of ['role', 'fhirUser', 'patients', 'disabledAt']) {
    const name = `#${attr}`;
    names[name] = attr;
    const value = item[attr];
    if (value === undefined) parts.push(`attribute_not_exists(${name})`);
    else if (value.L || value.SS) parts.push(...sameCollection(name, value, values));
    else {
      values[`:${attr}`] = value;
      parts.push(`${name} = :${attr}`);
    }
  }
  return { ConditionExpression: parts.join(' AND '), ExpressionAttributeNames: names, ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}) };
}

/**
 * Equality of a list (element by element) or a string set (same size, every member): written out,
 * because not every DynamoDB implementation compares whole lists with `=` (dynalite does not).
 */
function sameCollection(name: string, value: AttributeValue, values: Item): string[] {
  values[':n'] = { N: String(value.L ? value.L.length : value.SS!.length) };
  const parts = [`size(${name}) = :n`];
  if (value.L) {
    value.L.forEach((element, i) => {
      values[`:e${i}`] = element;
      parts.push(`${name}[${i}] = :e${i}`);
    });
  } else {
    value.SS!.forEach((member, i) => {
      values[`:e${i}`] = { S: member };
      parts.push(`contains(${name}, :e${i})`);
    });
  }
  return parts;
}

function toItem(values: LinkValues): Item {
  return {
    sub: { S: values.sub },
    role: { S: values.role },
    ...(values.fhirUser !== undefined ? { fhirUser: { S: values.fhirUser } } : {}),
    patients: { L: values.patients.map((p) => ({ S: p })) },
  };
}

/** Validate with the authorizer's parseLinkRecord; a record it refuses is kept as read, with the reason. */
function readLink(item: Item): ReadLink {
  const values = linkItemValues(item);
  try {
    return parseLinkRecord(values);
  } catch (err) {
    const patients = Array.isArray(values.patients) ? values.patients.map(String) : [];
    const fhirUser = typeof values.fhirUser === 'string' ? values.fhirUser : undefined;
    const disabledAt = typeof values.disabledAt === 'string' ? values.disabledAt : undefined;
    const invalid = err instanceof FhirgateError ? err.message : String(err);
    return { sub: String(values.sub ?? '?'), role: String(values.role) as LinkRecord['role'], fhirUser, patients, ...(disabledAt ? { disabledAt } : {}), invalid };
  }
}

/** The record, when the authorizer accepts it; otherwise a CliError saying how to repair it. */
export function validRecord(link: ReadLink, user: string): LinkRecord {
  if (link.invalid) throw new CliError(`the link record of ${user} is invalid and the authorizer refuses it (${link.invalid}); replace it with links put or remove it with links delete`);
  return link;
}
