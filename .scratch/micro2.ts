import { hotPathFixture } from '../bench/authorizer-hot';
import { decodeJws } from '../functions/authorizer/jws';
function time(name: string, n: number, fn: () => unknown) { for (let i=0;i<n/10;i++) fn(); const t0=process.hrtime.bigint(); for (let i=0;i<n;i++) fn(); const us=Number(process.hrtime.bigint()-t0)/1e3/n; console.log(name.padEnd(20), us.toFixed(3),'µs'); }
(async () => {
  const f = await hotPathFixture();
  const token = f.event.authorizationToken!.slice(7);
  const [h,p,s] = token.split('.');
  const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
  const ps = Buffer.from(p!, 'base64url').toString('utf8');
  for (let r=0;r<2;r++){
  time('floor', 20000, f.floor);
  time('compact regex', 200000, () => COMPACT.test(token));
  time('b64 payload', 200000, () => Buffer.from(p!, 'base64url').toString('utf8'));
  time('parse payload', 200000, () => JSON.parse(ps));
  time('b64 sig', 200000, () => Buffer.from(s!, 'base64url'));
  time('Buffer signing', 200000, () => Buffer.from(token.slice(0, token.lastIndexOf('.')), 'latin1'));
  time('decodeJws', 100000, () => decodeJws(token));
  const t0=process.hrtime.bigint(); for (let i=0;i<20000;i++) await f.authorize(f.event); console.log('decision', (Number(process.hrtime.bigint()-t0)/1e3/20000).toFixed(3));
  }
  console.log(token.length, ps.length);
  await f.close();
})();
