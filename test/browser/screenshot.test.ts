/**
 * The README shows the portal as docs/patient-portal.png, made by examples/patient-portal/
 * screenshot.ts (tests never write into the repository): it must be there and be a PNG.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

test('docs/patient-portal.png is a PNG of a page-sized image', () => {
  const png = readFileSync(join(__dirname, '../../docs/patient-portal.png'));
  // PNG signature, then the IHDR chunk: width and height, big-endian (PNG spec §5.2, §11.2.2).
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
  expect(png.readUInt32BE(16)).toBeGreaterThanOrEqual(600);
  expect(png.readUInt32BE(20)).toBeGreaterThanOrEqual(400);
});
