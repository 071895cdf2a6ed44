import { evalFhirPath, isReference } from '@medplum/core';
import type { Resource, SearchParameter } from '@medplum/fhirtypes';

/** A relative literal reference to a resource in this store: `Type/id` (R4 references.html#literal). */
const localReference = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/;

/** `Type/id` of a resource. */
export function keyOf(resource: Pick<Resource, 'resourceType' | 'id'>): string {
  return `${resource.resourceType}/${resource.id}`;
}

/**
 * Turns a reference string into `Type/id` when it points into this store: relative, or absolute on
 * the store's own base URL. Anything else (contained `#x`, other servers, urn:uuid) gives undefined.
 */
export function toLocalReference(reference: string | undefined, baseUrl?: string): string | undefined {
  if (!reference) {
    return undefined;
  }
  let candidate = reference;
  if (baseUrl && candidate.startsWith(baseUrl + '/')) {
    candidate = candidate.slice(baseUrl.length + 1);
  }
  // A versioned reference (`Type/id/_history/2`) still names the resource.
  candidate = candidate.replace(/\/_history\/[^/]+$/, '');
  return localReference.test(candidate) ? candidate : undefined;
}

/** The local references a reference-type search parameter selects in a resource. */
export function referencesOf(resource: Resource, param: SearchParameter, baseUrl?: string): string[] {
  const values = param.expression ? evalFhirPath(param.expression, resource) : [];
  const result: string[] = [];
  for (const value of values) {
    const local = isReference(value) ? toLocalReference(value.reference, baseUrl) : undefined;
    if (local) {
      result.push(local);
    }
  }
  return result;
}

/** Every local reference anywhere in a resource (any `reference` string, at any depth). */
export function collectReferences(resource: Resource, baseUrl?: string): string[] {
  const found = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
    } else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        const local = key === 'reference' && typeof value === 'string' ? toLocalReference(value, baseUrl) : undefined;
        if (local) {
          found.add(local);
        } else {
          visit(value);
        }
      }
    }
  };
  visit(resource);
  return [...found];
}
