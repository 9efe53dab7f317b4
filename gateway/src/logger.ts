/**
 * The gateway's pino logger. Patient data never reaches a log: request bodies, headers that carry
 * credentials, launch pairs and every patient field are redacted by path, and the request serializer
 * logs only method, route and remote address. Identifiers that must appear are hashed first.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

/** Redacted at the top level and one level down. */
const EVERYWHERE = ['body', 'context', 'signature', 'patient'];
/** Redacted one level down, in whatever object is logged. */
const NESTED = ['nhi', 'familyName', 'givenName', 'birthDate', 'deviceSecret', 'secret', 'clientSecret', 'client_secret', 'token', 'access_token', 'data'];
const REQUEST = ['req.headers.authorization', 'req.headers["idempotency-key"]', 'req.headers.cookie', 'req.body'];
const REDACT_PATHS = [...REQUEST, ...EVERYWHERE, ...[...EVERYWHERE, ...NESTED].map((key) => `*.${key}`)];

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
