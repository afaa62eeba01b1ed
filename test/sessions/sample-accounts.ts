import type request from 'supertest';
import { totpCode, totpStep } from '../../lib/mfa/totp.js';

export const SAMPLE_PASSWORD = 'correct horse battery';
const json = { 'Content-Type': 'application/json' };

/** Registers a user of the sample and turns MFA on; returns its e-mail, TOTP secret and recovery codes. */
export async function mfaUser(http: ReturnType<typeof request>, email: string) {
  await http.post('/auth/register').set(json).send({ email, password: SAMPLE_PASSWORD }).expect(201);
  const { accessToken } = (await http.post('/auth/login').set(json).send({ email, password: SAMPLE_PASSWORD }).expect(200)).body;
  const { secret } = (await http.post('/auth/mfa/enroll').set('Authorization', `Bearer ${accessToken}`).expect(201)).body;
  const { recoveryCodes } = (
    await http.post('/auth/mfa/confirm').set('Authorization', `Bearer ${accessToken}`).set(json).send({ code: totpCode(secret, totpStep()) }).expect(200)
  ).body;
  return { email, secret: secret as string, recoveryCodes: recoveryCodes as string[], enrollingToken: accessToken as string };
}
