/**
 * The few HTML pages the authorization server shows a person: the patient picker and an error
 * page for requests that must not be redirected (RFC 6749 §4.1.2.1). Every interpolated value is
 * escaped; pages may not be framed (clickjacking) and are never cached.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';

/**
 * No scripts at all; nobody may frame the page; its form posts to this origin only, and the
 * redirect that answers the post may go to the app (CSP form-action applies to redirects too).
 */
function headers(formTarget = ''): Record<string, string> {
  return {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'; form-action 'self'${formTarget ? ` ${formTarget}` : ''}; frame-ancestors 'none'`,
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
  };
}

/** The patient picker: one radio button per patient the user may choose; the answer redirects to `appRedirectUri`. */
export function pickerPage(appName: string, patients: readonly string[], action: string, appRedirectUri: string): APIGatewayProxyResult {
  const options = patients
    .map((id, i) => `<li><label><input type="radio" name="patient" value="${esc(id)}"${i === 0 ? ' checked' : ''}> Patient/${esc(id)}</label></li>`)
    .join('\n');
  return page(
    200,
    'Choose a patient',
    `<h1>Choose a patient</h1>
<p><strong>${esc(appName)}</strong> asks to act for one patient. Choose whose record it may open.</p>
<form method="post" action="${esc(action)}">
<ul id="patients">
${options}
</ul>
<button type="submit" name="action" value="allow">Continue</button>
<button type="submit" name="action" value="deny">Cancel</button>
</form>`,
    new URL(appRedirectUri).origin,
  );
}

/** An error the user sees (nothing is sent back to the app). */
export function errorPage(status: number, code: string, description: string): APIGatewayProxyResult {
  return page(status, 'Sign-in error', `<h1>Sign-in cannot continue</h1>\n<p id="error" data-error="${esc(code)}">${esc(description)}</p>`);
}

/** A redirect (302) with the no-store headers. */
export function redirect(location: string, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return { statusCode: 302, headers: { Location: location, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', ...headers }, body: '' };
}

function page(statusCode: number, title: string, body: string, formTarget?: string): APIGatewayProxyResult {
  return {
    statusCode,
    headers: headers(formTarget),
    body: `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title></head>\n<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 2rem auto">\n${body}\n</body></html>\n`,
  };
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
