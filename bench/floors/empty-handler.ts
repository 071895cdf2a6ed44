/**
 * The proxy's cold-start floor: a Lambda handler that does nothing, bundled and spawned exactly
 * like fhirgate's proxy (bench/cold-start.ts). What is left is Node and the runtime's own start.
 */
export const handler = async () => ({ statusCode: 200, body: '' });
