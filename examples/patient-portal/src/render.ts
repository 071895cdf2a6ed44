/**
 * FHIR resources into the page. Only `textContent` and attributes, never HTML strings: the data
 * is clinical free text and must not be able to run script.
 */
import type { Bundle, Condition, Observation, Patient, Resource } from '@medplum/fhirtypes';

/** The first official (or any) name as "Given Family". */
export function patientName(patient: Patient): string {
  const name = patient.name?.find((n) => n.use === 'official') ?? patient.name?.[0];
  const text = name?.text ?? [...(name?.given ?? []), name?.family ?? ''].join(' ').trim();
  return text || `Patient ${patient.id ?? ''}`.trim();
}

/** The entries of a search Bundle that are of the searched type (not included or outcome entries). */
export function resources<K extends Resource['resourceType']>(bundle: Bundle | undefined, type: K): Extract<Resource, { resourceType: K }>[] {
  return (bundle?.entry ?? []).flatMap((e) => (e.resource?.resourceType === type ? [e.resource as Extract<Resource, { resourceType: K }>] : []));
}

export function renderPatient(dl: HTMLElement, patient: Patient): void {
  dl.replaceChildren(
    ...field('Name', patientName(patient), 'patient-name'),
    ...field('Born', patient.birthDate ?? '—', 'patient-birth-date'),
    ...field('Gender', patient.gender ?? '—', 'patient-gender'),
    ...field('Record id', patient.id ?? '—', 'patient-id'),
  );
}

/** One table row per Observation: what, value, when. */
export function renderObservations(tbody: HTMLElement, observations: readonly Observation[]): void {
  if (observations.length === 0) return tbody.replaceChildren(noneRow(3));
  tbody.replaceChildren(
    ...observations.map((o) => {
      const row = document.createElement('tr');
      row.dataset.testid = 'observation';
      row.dataset.id = o.id ?? '';
      const value = o.valueQuantity ? `${o.valueQuantity.value ?? ''} ${o.valueQuantity.unit ?? ''}`.trim() : (o.valueString ?? '—');
      row.append(cell('th', codeText(o.code)), cell('td', value), cell('td', (o.effectiveDateTime ?? '').slice(0, 10) || '—'));
      row.firstElementChild!.setAttribute('scope', 'row');
      return row;
    }),
  );
}

export function renderConditions(list: HTMLElement, conditions: readonly Condition[]): void {
  if (conditions.length === 0) return list.replaceChildren(Object.assign(document.createElement('li'), { textContent: 'None recorded' }));
  list.replaceChildren(
    ...conditions.map((c) => {
      const item = document.createElement('li');
      item.dataset.testid = 'condition';
      item.dataset.id = c.id ?? '';
      const status = c.clinicalStatus?.coding?.[0]?.code;
      const since = (c.onsetDateTime ?? '').slice(0, 10);
      item.textContent = [codeText(c.code), status && `(${status})`, since && `since ${since}`].filter(Boolean).join(' ');
      return item;
    }),
  );
}

function codeText(code: { text?: string; coding?: { display?: string; code?: string }[] } | undefined): string {
  return code?.text ?? code?.coding?.[0]?.display ?? code?.coding?.[0]?.code ?? 'Unnamed';
}

function noneRow(columns: number): HTMLElement {
  const row = document.createElement('tr');
  const c = cell('td', 'None recorded');
  c.colSpan = columns;
  row.append(c);
  return row;
}

function field(term: string, value: string, testid: string): HTMLElement[] {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value;
  dd.dataset.testid = testid;
  return [dt, dd];
}

function cell(tag: 'th' | 'td', text: string): HTMLTableCellElement {
  const c = document.createElement(tag);
  c.textContent = text;
  return c;
}
