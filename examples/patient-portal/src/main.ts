/**
 * The patient portal: a SMART App Launch app. It signs in with fhirclient against fhirgate (which
 * signs the user in with Cognito and, for a guardian or practitioner, asks which patient), then
 * reads the FHIR API directly with the access token it got. The app never decides who may see
 * what — fhirgate does; refusals are shown as the API words them. The record shown is the launch's
 * patient, or the one a link names (`#patient=<id>`), which fhirgate refuses unless it is the
 * launch's.
 */
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { parsePortalConfig, PortalConfig } from './config';
import { createFhirClient, FhirClient, FhirResult } from './fhir-client';
import { renderConditions, renderObservations, renderPatient, resources } from './render';
import { resume, Session, signIn, signOut } from './smart-launch';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

const view = {
  fatal: $('fatal'),
  form: $('sign-in'),
  signIn: $<HTMLButtonElement>('sign-in-button'),
  signInError: $('sign-in-error'),
  who: $('who'),
  whoName: $('who-name'),
  signOut: $<HTMLButtonElement>('sign-out'),
  expiresAt: $('expires-at'),
  renew: $<HTMLButtonElement>('renew'),
  record: $('record'),
  error: $('error'),
  details: $('details'),
  patient: $('patient'),
  vitals: $('vitals'),
  labs: $('labs'),
  conditions: $('conditions'),
};

let config: PortalConfig;
let session: Session | undefined;
let fhir: FhirClient;
/** Bumped by every load, so an answer for a patient no longer selected is dropped. */
let generation = 0;

function show(element: HTMLElement, text: string | undefined): void {
  element.textContent = text ?? '';
  element.hidden = text === undefined;
}

function selectedFromUrl(): string | undefined {
  return new URLSearchParams(location.hash.slice(1)).get('patient') ?? undefined;
}

/** Back to the sign-in button with nothing of the last user left on the page. */
function showSignIn(message?: string): void {
  generation++;
  session = undefined;
  view.who.hidden = true;
  view.record.hidden = true;
  view.details.hidden = true;
  for (const e of [view.patient, view.vitals, view.labs, view.conditions]) e.replaceChildren();
  show(view.error, undefined);
  view.form.hidden = false;
  show(view.signInError, message);
}

function showExpiry(): void {
  view.expiresAt.textContent = session ? new Date(session.expiresAt() * 1000).toISOString() : '';
}

async function enter(current: Session): Promise<void> {
  session = current;
  view.form.hidden = true;
  show(view.signInError, undefined);
  view.whoName.textContent = current.fhirUser;
  view.who.hidden = false;
  view.record.hidden = false;
  showExpiry();
  await load(selectedFromUrl() ?? current.patientId);
}

async function load(id: string | undefined): Promise<void> {
  const mine = ++generation;
  view.record.dataset.loaded = '';
  view.record.setAttribute('aria-busy', 'true');
  show(view.error, undefined);
  view.details.hidden = true;
  if (id === undefined) return finish(mine, '', 'This sign-in is for no patient.');

  const patient = await fhir.get<Patient>(`Patient/${encodeURIComponent(id)}`);
  if (mine !== generation) return;
  if (!patient.ok) return refused(patient, id, mine);
  const p = encodeURIComponent(id);
  const [vitals, labs, conditions] = await Promise.all([
    fhir.get<Bundle>(`Observation?patient=${p}&category=vital-signs&_sort=-date`),
    fhir.get<Bundle>(`Observation?patient=${p}&category=laboratory&_sort=-date`),
    fhir.get<Bundle>(`Condition?patient=${p}`),
  ]);
  if (mine !== generation) return;
  if (!vitals.ok) return refused(vitals, id, mine);
  if (!labs.ok) return refused(labs, id, mine);
  if (!conditions.ok) return refused(conditions, id, mine);
  renderPatient(view.patient, patient.value);
  renderObservations(view.vitals, resources(vitals.value, 'Observation'));
  renderObservations(view.labs, resources(labs.value, 'Observation'));
  renderConditions(view.conditions, resources(conditions.value, 'Condition'));
  view.details.hidden = false;
  finish(mine, id);
}

/** A refusal: 401 means the session is over; anything else is shown as the API worded it. */
function refused(result: Extract<FhirResult<unknown>, { ok: false }>, id: string, mine: number): void {
  if (result.status === 401) {
    signOut();
    return showSignIn(`Please sign in again (${result.message}).`);
  }
  // 404 reads "not found" whether the record is missing or not yours: fhirgate does not say which.
  finish(mine, id, id ? `${id}: ${result.message}` : result.message);
}

function finish(mine: number, id: string, error?: string): void {
  if (mine !== generation) return;
  show(view.error, error);
  view.record.removeAttribute('aria-busy');
  view.record.dataset.loaded = id || 'none';
}

async function main(): Promise<void> {
  try {
    const response = await fetch('config.json', { cache: 'no-store' });
    config = parsePortalConfig(await response.json());
    fhir = createFhirClient(config.fhirBaseUrl, () => (session ? session.accessToken() : Promise.reject(new Error('not signed in'))));
  } catch (err) {
    return show(view.fatal, `The portal is not configured: ${err instanceof Error ? err.message : String(err)}`);
  }

  view.signIn.addEventListener('click', () => {
    show(view.signInError, undefined);
    signIn(config).catch((err: unknown) => showSignIn(err instanceof Error ? err.message : String(err)));
  });
  view.signOut.addEventListener('click', () => {
    signOut();
    history.replaceState(null, '', location.pathname);
    showSignIn();
  });
  view.renew.addEventListener('click', () => {
    session?.refresh().then(showExpiry, (err: unknown) => {
      signOut();
      showSignIn(`Please sign in again (${err instanceof Error ? err.message : String(err)}).`);
    });
  });
  window.addEventListener('hashchange', () => {
    if (session && !view.record.hidden) void load(selectedFromUrl() ?? session.patientId);
  });

  let current: Session | undefined;
  try {
    current = await resume();
  } catch (err) {
    return showSignIn(`Sign-in failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (current) await enter(current);
  else showSignIn();
}

void main();
