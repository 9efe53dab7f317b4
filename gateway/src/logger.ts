/**
 * The gateway's pino logger. Patient data never reaches a log: request bodies, headers that carry
 * credentials, launch pairs and every patient field are redacted by path, and the request serializer
 * logs only method, route and remote address. Identifiers that must appear are hashed first.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["idempotency-key"]',
  'req.headers.cookie',
  'req.body',
  'body',
  '*.body',
  'context',
  'signature',
  '*.context',
  '*.signature',
  'patient',
  '*.patient',
  '*.nhi',
  '*.familyName',
  '*.givenName',
  '*.birthDate',
  '*.deviceSecret',
  '*.secret',
  '*.clientSecret',
  '*.client_secret',
  '*.token',
  '*.access_token',
  '*.data',
];

/** `destination`: where lines go (tests capture them); stdout by default. */
export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'clinicpro-gateway' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination ?? pino.destination(1),
  );
}
