/** The error shapes ALEX answers with: FHIR OperationOutcome, Azure APIM `{statusCode, message}`, Azure AD token errors. */
import type { FastifyReply } from 'fastify';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export type IssueType =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'security'
  | 'login'
  | 'forbidden'
  | 'not-found'
  | 'too-long'
  | 'throttled'
  | 'transient'
  | 'exception'
  | 'timeout'
  | 'not-supported'
  | 'code-invalid'
  | 'informational';

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: { severity: 'fatal' | 'error' | 'warning' | 'information'; code: IssueType; diagnostics: string; expression?: string[] }[];
}

export function operationOutcome(code: IssueType, diagnostics: string, expression?: string, severity: 'error' | 'information' = 'error'): OperationOutcome {
  const issue: OperationOutcome['issue'][number] = { severity, code, diagnostics };
  if (expression !== undefined) issue.expression = [expression];
  return { resourceType: 'OperationOutcome', issue: [issue] };
}

export function sendOutcome(reply: FastifyReply, status: number, code: IssueType, diagnostics: string, expression?: string): FastifyReply {
  return reply.code(status).type(FHIR_JSON).send(operationOutcome(code, diagnostics, expression));
}

/** Azure API Management's own error shape (no FHIR): e.g. 404 on an operation ALEX does not expose. */
export function sendApimError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ statusCode: status, message });
}

/** A FHIR validation failure raised inside a handler; the handler turns it into an OperationOutcome. */
export class OutcomeError extends Error {
  constructor(
    readonly status: number,
    readonly issueCode: IssueType,
    readonly diagnostics: string,
    readonly expression?: string,
  ) {
    super(diagnostics);
    this.name = 'OutcomeError';
  }
}
