import Type from 'typebox';
import {
  AgentViewSchema,
  CancelRunResponseSchema,
  CreateRunResponseSchema,
  ErrorBodySchema,
  JobPageSchema,
  RunSummarySchema,
  RunViewSchema,
} from '../protocol/api.js';
import { readBack } from './read-back.js';

/**
 * The coordinator's answers as its clients (the launcher, the SDK) read them: checked against the schemas its routes
 * answer with, so a proxy's page or another version's body is a one-line KP_API_BAD_RESPONSE, not a crash later.
 */
const answer = <S extends Parameters<typeof readBack>[0]>(schema: S) =>
  readBack(schema, 'KP_API_BAD_RESPONSE', { hint: 'is the coordinator the same version as this CLI? katapult down, then launch again' });

export const apiAnswers = {
  createRun: answer(CreateRunResponseSchema),
  listRuns: answer(Type.Array(RunViewSchema)),
  getRun: answer(RunViewSchema),
  runSummaries: answer(Type.Array(RunSummarySchema)),
  jobPage: answer(JobPageSchema),
  cancelRun: answer(CancelRunResponseSchema),
  listAgents: answer(Type.Array(AgentViewSchema)),
  errorBody: answer(ErrorBodySchema),
};
