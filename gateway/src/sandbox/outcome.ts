/** The error shapes ALEX answers with: FHIR OperationOutcome and Azure API Management's `{statusCode, message}`. */
import type { FastifyReply } from 'fastify';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

type InvalidIssue = 'structure' | 'required' | 'value' | 'invalid' | 'not-found' | 'too-long' | 'not-supported' | 'code-invalid';
export type IssueType = InvalidIssue | 'security' | 'login' | 'forbidden' | 'throttled' | 'transient' | 'exception';

export function operationOutcome(code: IssueType, diagnostics: string, expression?: string, severity: 'error' | 'information' = 'error'): Record<string, unknown> {
  const issue = { severity, code, diagnostics, ...(expression === undefined ? {} : { expression: [expression] }) };
  return { resourceType: 'OperationOutcome', issue: [issue] };
}

export function sendOutcome(reply: FastifyReply, status: number, code: IssueType, diagnostics: string, expression?: string): FastifyReply {
  return reply.code(status).type(FHIR_JSON).send(operationOutcome(code, diagnostics, expression));
}

/** Azure API Management's own error shape (no FHIR): e.g. 404 on an operation ALEX does not expose. */
export function sendApimError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ statusCode: status, message });
}

/** A FHIR validation failure raised inside a handler; the error handler answers it as an OperationOutcome. */
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
