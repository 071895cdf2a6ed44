/**
 * The patient portal: sign in with Cognito, then read the FHIR API directly with the user's
 * access token. The app never decides who may see what — fhirgate does; the app lists the
 * caller's patients with `GET Patient` (the API returns exactly those) and shows refusals as the
 * API words them. The selected patient lives in the URL (`#patient=<id>`), like a shared link.
 */
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { parsePortalConfig } from './config';
import { createFhirClient, FhirClient, FhirResult } from './fhir-client';
import { renderConditions, renderObservations, renderPatient, renderPicker, resources } from './render';
import { createSignIn, SignedInUser, SignIn } from './sign-in';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

const view = {
  fatal: $('fatal'),
  form: $<HTMLFormElement>('sign-in'),
  username: $<HTMLInputElement>('username'),
  password: $<HTMLInputElement>('password'),
  signInError: $('sign-in-error'),
  who: $('who'),
  whoName: $('who-name'),
  signOut: $<HTMLButtonElement>('sign-out'),
  record: $('record'),
  pickerArea: $('picker-area'),
  picker: $<HTMLSelectElement>('patient-picker'),
  error: $('error'),
  details: $('details'),
  patient: $('patient'),
  vitals: $('vitals'),
  labs: $('labs'),
  conditions: $('conditions'),
};

let auth: SignIn;
let fhir: FhirClient;
let patients: Patient[] = [];
/** Bumped by every load, so an answer for a patient no longer selected is dropped. */
let generation = 0;

function show(element: HTMLElement, text: string | undefined): void {
  element.textContent = text ?? '';
  element.hidden = text === undefined;
}

function selectedFromUrl(): string | undefined {
  return new URLSearchParams(location.hash.slice(1)).get('patient') ?? undefined;
}

/** Back to the sign-in form with nothing of the last user left on the page. */
function showSignIn(message?: string): void {
  generation++;
  patients = [];
  view.who.hidden = true;
  view.record.hidden = true;
  view.details.hidden = true;
  for (const e of [view.patient, view.vitals, view.labs, view.conditions, view.picker]) e.replaceChildren();
  show(view.error, undefined);
  view.form.hidden = false;
  show(view.signInError, message);
  view.password.value = '';
}

async function enter(user: SignedInUser): Promise<void> {
  view.form.hidden = true;
  show(view.signInError, undefined);
  view.whoName.textContent = user.username;
  view.who.hidden = false;
  view.record.hidden = false;
  const mine = ++generation;
  const list = await fhir.get<Bundle>('Patient');
  if (mine !== generation) return; // signed out meanwhile
  if (!list.ok) return refused(list, '', mine);
  patients = resources(list.value, 'Patient');
  // Guardians and practitioners choose among their linked patients; a patient has only their own.
  view.pickerArea.hidden = user.groups.includes('patient') && patients.length <= 1;
  await load(selectedFromUrl() ?? patients[0]?.id);
}

async function load(id: string | undefined): Promise<void> {
  const mine = ++generation;
  view.record.dataset.loaded = '';
  view.record.setAttribute('aria-busy', 'true');
  renderPicker(view.picker, patients, id);
  show(view.error, undefined);
  view.details.hidden = true;
  if (id === undefined) return finish(mine, '', 'No patient is linked to your account.');

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
    auth.signOut();
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
    const config = parsePortalConfig(await response.json());
    auth = createSignIn(config);
    fhir = createFhirClient(config.fhirBaseUrl, () => auth.accessToken());
  } catch (err) {
    return show(view.fatal, `The portal is not configured: ${err instanceof Error ? err.message : String(err)}`);
  }

  view.form.addEventListener('submit', (event) => {
    event.preventDefault();
    show(view.signInError, undefined);
    auth.signIn(view.username.value.trim(), view.password.value).then(enter, (err: unknown) =>
      showSignIn(err instanceof Error ? err.message : String(err)),
    );
  });
  view.signOut.addEventListener('click', () => {
    auth.signOut();
    history.replaceState(null, '', location.pathname);
    showSignIn();
  });
  view.picker.addEventListener('change', () => {
    location.hash = `patient=${encodeURIComponent(view.picker.value)}`;
  });
  window.addEventListener('hashchange', () => {
    if (!view.record.hidden) void load(selectedFromUrl() ?? patients[0]?.id);
  });

  const user = await auth.restore();
  if (user) await enter(user);
  else showSignIn();
}

void main();
