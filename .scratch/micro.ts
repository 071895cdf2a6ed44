import { hotPathFixture } from '/work/wt21/bench/authorizer-hot';
import { decodeJws } from '/work/wt21/functions/authorizer/jws';
import { classifyClaims, userPrincipal } from '/work/wt21/functions/core/principal';
import { principalToContext } from '/work/wt21/functions/core/principal-context';
import { fhirPolicy } from '/work/wt21/functions/authorizer/policy';
import { DEFAULT_SETTINGS } from '/work/wt21/functions/core/settings';
import { validateJwtFields } from 'aws-jwt-verify/jwt';
import { validateCognitoJwtFields } from 'aws-jwt-verify/cognito-verifier';
function time(name: string, n: number, fn: () => unknown) { for (let i=0;i<n/10;i++) fn(); const t0=process.hrtime.bigint(); for (let i=0;i<n;i++) fn(); const us=Number(process.hrtime.bigint()-t0)/1e3/n; console.log(name.padEnd(20), us.toFixed(3),'µs'); }
(async () => {
  const f = await hotPathFixture();
  const token = f.event.authorizationToken!.slice(7);
  const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;
  const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
  for (let r=0;r<2;r++){
  time('floor', 20000, f.floor);
  time('bearer regex', 200000, () => BEARER.exec(f.event.authorizationToken!));
  time('compact regex', 200000, () => COMPACT.test(token));
  time('Buffer signing', 200000, () => Buffer.from(token.slice(0, token.lastIndexOf('.')), 'latin1'));
  time('decodeJws', 100000, () => decodeJws(token));
  const jws = decodeJws(token);
  time('validate fields', 200000, () => { validateJwtFields(jws.payload, { issuer: jws.payload.iss as string, audience: null }); validateCognitoJwtFields(jws.payload, { tokenUse: 'access', clientId: ['web','api-server'] }); });
  const clients = { userClientIds: ['web'], machineClientIds: ['api-server'] };
  const link = { sub: jws.payload.sub as string, role: 'patient' as const, fhirUser: 'Patient/pat-alice', patients: ['pat-alice'] };
  time('classify', 200000, () => classifyClaims(jws.payload as any, clients));
  const c = classifyClaims(jws.payload as any, clients) as any;
  time('userPrincipal', 200000, () => userPrincipal(c, link, DEFAULT_SETTINGS));
  const p = userPrincipal(c, link, DEFAULT_SETTINGS);
  time('context+policy', 200000, () => fhirPolicy('Allow', p.sub, f.event.methodArn, principalToContext(p)));
  let n=0; const t0=process.hrtime.bigint(); for (let i=0;i<20000;i++) await f.authorize(f.event); console.log('decision', (Number(process.hrtime.bigint()-t0)/1e3/20000).toFixed(3));
  }
  await f.close();
})();
