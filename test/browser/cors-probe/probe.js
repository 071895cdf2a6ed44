// Reads `#base=<fhirBaseUrl>&token=<access token>` (the fragment never reaches a server), asks
// for `GET Patient` the way any app would, and reports whether the body could be read.
const params = new URLSearchParams(location.hash.slice(1));
const result = document.querySelector('[data-testid=result]');
fetch(`${params.get('base')}/Patient`, { headers: { authorization: `Bearer ${params.get('token')}` } })
  .then(async (response) => {
    const body = await response.json();
    return { read: true, status: response.status, ids: (body.entry ?? []).map((e) => e.resource.id) };
  })
  .catch((err) => ({ read: false, error: String(err) }))
  .then((outcome) => {
    result.textContent = JSON.stringify(outcome);
  });
